"""Models: output shapes, 1-channel stems, and parameter counts against the papers."""

import pytest
import torch

from stepsize import models


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "paper_millions", "tolerance"),
    [
        ("resnet20", 0.27, 0.01),  # He et al. 2016, Table 6
        ("resnet56", 0.85, 0.01),
        ("preact_resnet18", 11.2, 0.05),  # the common CIFAR PreAct-18: 11.17M
    ],
)
def test_cifar_resnet_parameter_counts_match_the_papers(name, paper_millions, tolerance):
    assert abs(n_params(models.create(name, 10, 3)) / 1e6 - paper_millions) <= tolerance


def test_resnet20_and_56_have_the_exact_option_a_counts():
    # option A (parameter-free shortcuts): 3x3 convs + BN + fc, counted by hand for n = 3 and 9
    def count(n: int) -> int:
        convs = 3 * 3 * 16 * 3  # stem
        bn = 2 * 16
        c_in = 16
        for c in (16, 32, 64):
            for _ in range(n):
                convs += 9 * c_in * c + 9 * c * c
                bn += 4 * c
                c_in = c
        return convs + bn + 64 * 10 + 10

    assert n_params(models.create("resnet20", 10, 3)) == count(3)
    assert n_params(models.create("resnet56", 10, 3)) == count(9)


@pytest.mark.parametrize("name", ["mini_resnet", "resnet8", "resnet20", "preact_resnet18"])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_small_models_map_images_to_logits(name, in_channels):
    model = models.create(name, 7, in_channels)
    size = 28 if in_channels == 1 else 32
    out = model(torch.randn(2, in_channels, size, size))
    assert out.shape == (2, 7)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_torchvision_resnets_take_num_classes_and_in_channels(name):
    model = models.create(name, 5, 1)
    assert model.fc.out_features == 5
    assert model.eval()(torch.randn(1, 1, 32, 32)).shape == (1, 5)


def test_mini_resnet_downsamples_in_the_stem_and_scales_with_width():
    small, wide = models.create("mini_resnet", 10, 1, width=8), models.create("mini_resnet", 10, 1, width=16)
    assert small.stem[0].stride == (2, 2)
    assert 3.5 < n_params(wide) / n_params(small) < 4.2  # conv weights grow with width^2


def test_channels_last_gives_the_same_logits():
    torch.manual_seed(0)
    model = models.create("resnet8", 10, 3).eval()
    x = torch.randn(4, 3, 32, 32)
    ref = model(x)
    model = model.to(memory_format=torch.channels_last)
    out = model(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_bad_model_arguments_name_the_key():
    with pytest.raises(ValueError, match=r"model.name: unknown model 'resnet9'; valid: mini_resnet"):
        models.create("resnet9", 10, 3)
    with pytest.raises(ValueError, match=r"model.width"):
        models.create("resnet8", 10, 3, width=0)
    with pytest.raises(ValueError, match=r"model.depth"):
        models.create("resnet8", 10, 3, depth=3)
    with pytest.raises(ValueError, match=r"model.width: torchvision resnet18 has a fixed width"):
        models.create("resnet18", 10, 3, width=32)


def test_as_input_sets_memory_format_and_dtype_and_copies_only_when_needed():
    x = torch.randn(2, 3, 4, 4)
    assert models.as_input(x, channels_last=False) is x
    assert models.as_input(x, channels_last=False, dtype=torch.float32) is x
    cl = models.as_input(x.half(), channels_last=True, dtype=torch.float32)
    assert cl.dtype == torch.float32 and cl.is_contiguous(memory_format=torch.channels_last)
    assert models.as_input(cl, channels_last=True, dtype=torch.float32) is cl
    assert models.as_input(x.half(), channels_last=False).dtype == torch.float16  # None: left as it is
