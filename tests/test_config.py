"""Training config: loading, --set overrides, resolution, and one-line errors that name the key."""

import pytest

from stepsize import config

BASE = "experiments/base/fashion_mnist.yaml"


def resolve(**sections):
    return config.resolve(sections)


def test_defaults_resolve_to_a_full_config():
    cfg = resolve()
    assert list(cfg) == list(config.DEFAULTS)
    assert cfg["data"]["name"] == "fashion_mnist" and "root" in cfg["data"]  # builder defaults filled in
    assert cfg["schedule"] == {"name": "cosine", "warmup_steps": 0, "warmup_fraction": 0.0, "min_ratio": 0.0}
    assert cfg["train"]["amp"] == "auto"


def test_overrides_are_parsed_as_yaml_and_set_dotted_keys():
    raw = config.apply_overrides({"optimizer": {"lr": 0.1}}, [
        "optimizer.lr=0.05", "swa.variants=[tail, ema]", "schedule.name=uba", "schedule.phi=2",
        "train.grad_clip=null",
    ])
    cfg = config.resolve(raw)
    assert cfg["optimizer"]["lr"] == 0.05
    assert cfg["swa"]["variants"] == ["tail", "ema"]
    assert cfg["schedule"]["name"] == "uba" and cfg["schedule"]["phi"] == 2
    assert cfg["train"]["grad_clip"] is None


def test_a_mapping_value_replaces_the_whole_section():
    raw = config.apply_overrides({"optimizer": {"name": "momentum", "momentum": 0.9}},
                                 ["optimizer={name: adam, lr: 0.001}"])
    assert config.resolve(raw)["optimizer"]["name"] == "adam"


def test_the_base_configs_load():
    for name in ("fashion_mnist", "cifar10", "cifar100", "imagenet_rn50", "imagenet_rn18"):
        cfg = config.load(f"experiments/base/{name}.yaml")
        assert cfg["budget"]["steps"] > 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"optimizer": {"lrr": 0.1}}, r"^optimizer.lrr: unknown momentum option; did you mean 'lr'\?"),
        ({"trian": {}}, r"^trian: unknown config section; did you mean 'train'\?"),
        ({"swa": {"strat": 0.5}}, r"^swa.strat: unknown swa key; did you mean 'start'\?"),
        ({"data": {"batchsize": 64}},
         r"^data.batchsize: unknown fashion_mnist data key; did you mean 'batch_size'"),
        ({"budget": {"steps": "many"}}, r"^budget.steps: expected int, got str 'many'"),
        ({"budget": {"steps": 10.5}}, r"^budget.steps: expected int, got float"),
        ({"train": {"channels_last": "yes"}}, r"^train.channels_last: expected bool"),
        ({"budget": {"steps": 0}}, r"^budget.steps: must be an integer >= 1, got 0"),
        ({"optimizer": {"lr": -0.1}}, r"^optimizer.lr: must be > 0, got -0.1"),
        ({"swa": {"start": 1.5}}, r"^swa.start: must be a fraction in \[0, 1\], got 1.5"),
        ({"swa": {"variants": ["tail", "polyak"]}}, r"^swa.variants: must be a list of distinct names"),
        ({"eval": {"at_fractions": [0.5, 1.2]}},
         r"^eval.at_fractions: must be a list of fractions in \(0, 1\]"),
        ({"train": {"label_smoothing": 1.0}}, r"^train.label_smoothing: must be in \[0, 1\)"),
        ({"train": {"device": "tpu"}}, r"^train.device: must be auto, cpu, cuda or cuda:N"),
        ({"model": {"name": "vgg"}}, r"^model.name: unknown model 'vgg'; valid: mini_resnet, resnet8"),
        ({"optimizer": {"name": "lion"}}, r"^optimizer.name: unknown optimizer 'lion'; valid: .*osgm"),
        ({"schedule": {"name": "sawtooth"}}, r"^schedule.name: unknown schedule 'sawtooth'; valid: .*uba"),
        ({"data": {"name": "mnist"}}, r"^data.name: unknown data 'mnist'; valid: fashion_mnist"),
        ({"schedule": {"name": "uba", "phi": -1.0}}, r"^schedule \(uba\): .*phi"),
        ({"schedule": {"warmup_steps": 500}, "budget": {"steps": 100}},
         r"^schedule \(cosine\): .*warmup_steps"),
        ({"schedule": {"name": "cosine", "phi": 1.0}}, r"^schedule.phi: unknown cosine parameter"),
        ({"optimizer": {"momentum": -0.5}}, r"^optimizer 'momentum': momentum must be in \(0, 1\), got -0.5"),
        ({"model": {"width": 0}}, r"^model.width: must be null or an integer >= 1, got 0"),
        ({"train": {"seed": -1}}, r"^train.seed: must be an integer in \[0, 2\^31\), got -1"),
        ({"train": {"seed": 2**32}}, r"^train.seed: must be an integer in \[0, 2\^31\), got 4294967296"),
    ],
)
def test_bad_values_raise_one_line_naming_the_key(raw, message):
    with pytest.raises(ValueError, match=message) as err:
        config.resolve(raw)
    assert "\n" not in str(err.value)


def test_yaml_scientific_notation_without_a_dot_is_read_as_a_number():
    cfg = resolve(optimizer={"weight_decay": "5e-4"})
    assert cfg["optimizer"]["weight_decay"] == 5e-4


def test_yaml_booleans_for_amp_become_modes():
    assert resolve(train={"amp": False})["train"]["amp"] == "off"
    assert resolve(train={"amp": True})["train"]["amp"] == "bf16"


def test_file_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"config file not found: .*nope.yaml"):
        config.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ValueError, match=r"bad.yaml: not valid YAML"):
        config.load(bad)
    binary = tmp_path / "model.pt"
    binary.write_bytes(b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8\xff")  # a checkpoint passed as the config
    with pytest.raises(ValueError, match=r"model.pt: not a text file \(a YAML config must be UTF-8 text\)"):
        config.load(binary)
    with pytest.raises(ValueError, match=r"--set lr: .*|--set 'lr'"):
        config.apply_overrides({}, ["lr"])
    with pytest.raises(ValueError, match=r"--set optimizer.lr.x: optimizer.lr is not a section"):
        config.apply_overrides({"optimizer": {"lr": 0.1}}, ["optimizer.lr.x=1"])


@pytest.mark.parametrize("momentum", [None, 0.9, "learned"])
def test_osgm_momentum_may_be_none_a_float_or_learned(momentum):
    cfg = config.resolve({"optimizer": {"name": "osgm", "lr": 1.0, "momentum": momentum}})
    assert cfg["optimizer"]["momentum"] == momentum


def test_osgm_momentum_is_still_validated_and_sgd_momentum_stays_a_float():
    with pytest.raises(ValueError, match="momentum"):
        config.resolve({"optimizer": {"name": "osgm", "lr": 1.0, "momentum": "sometimes"}})
    with pytest.raises(ValueError, match=r"optimizer\.momentum"):
        config.resolve({"optimizer": {"name": "momentum", "lr": 0.1, "momentum": "learned"}})


def test_a_null_cache_dir_means_decode_every_time_and_resolves():
    assert resolve(data={"cache_dir": None})["data"]["cache_dir"] is None
    assert resolve(data={"cache_dir": "elsewhere"})["data"]["cache_dir"] == "elsewhere"
    with pytest.raises(ValueError, match=r"^data.cache_dir: expected str, got int 3$"):
        resolve(data={"cache_dir": 3})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"data": {"name": "ffcv", "train_path": 5}}, r"^data.train_path: expected str, got int 5$"),
        ({"data": {"name": "ffcv", "min_resolution": 160.5}},
         r"^data.min_resolution: expected int, got float 160.5$"),
        ({"data": {"name": "imagefolder", "num_classes": "ten"}},
         r"^data.num_classes: expected int, got str 'ten'$"),
        ({"data": {"name": "imagefolder", "root": ["a", "b"]}}, r"^data.root: expected str, got list"),
        ({"data": {"train_subset": "all"}}, r"^data.train_subset: expected int, got str 'all'$"),
        ({"data": {"name": "cifar10", "test_subset": True}}, r"^data.test_subset: expected int, got bool"),
        ({"swa": {"bn_batches": 2.5}}, r"^swa.bn_batches: expected int, got float 2.5$"),
        ({"train": {"grad_clip": "big"}}, r"^train.grad_clip: expected float, got str 'big'$"),
        ({"schedule": {"name": "uba", "phi": "big"}}, r"^schedule.phi: expected float, got str 'big'$"),
    ],
)
def test_keys_whose_default_is_null_are_type_checked_too(raw, message):
    with pytest.raises(ValueError, match=message) as err:
        config.resolve(raw)
    assert "\n" not in str(err.value)


def test_keys_whose_default_is_null_still_take_null_and_their_type():
    cfg = config.resolve({"data": {"name": "ffcv", "train_path": "a.beton", "min_resolution": None,
                                   "num_classes": 10}})
    assert (cfg["data"]["train_path"], cfg["data"]["min_resolution"], cfg["data"]["num_classes"]) == (
        "a.beton", None, 10)
    assert config.resolve({"swa": {"bn_batches": 3}})["swa"]["bn_batches"] == 3


def test_every_key_whose_default_is_null_declares_its_type():
    """A new null default without a declared type would silently skip type checking."""
    import stepsize.data as data
    import stepsize.optim as optim
    import stepsize.schedules as schedules

    undeclared = [f"data.{k} ({name})" for name in data.NAMES
                  for k, v in data.builder_defaults(name).items()
                  if v is None and k not in data.builder_nullable(name)]
    undeclared += [f"{s}.{k}" for s, keys in config.DEFAULTS.items() for k, v in keys.items()
                   if v is None and f"{s}.{k}" not in config.NULLABLE]
    for section, registry in (("optimizer", optim.DEFAULTS), ("schedule", schedules.DEFAULTS)):
        undeclared += [f"{section}.{k} ({name})" for name, keys in registry.items() for k, v in keys.items()
                       if v is None and f"{section}.{k}" not in config.NULLABLE | config.OWNER_CHECKED]
    assert undeclared == []


@pytest.mark.parametrize("name", ["adam", "adamw", "prodigy", "sf_adamw", "dadapt_adam"])
def test_a_tuple_default_resolves_to_a_list_and_equals_its_run_json(name):
    """Adam-family betas: the resolved config is JSON-native, so a record read back from run.json is
    current (it used to hold a tuple, never equal to the list in run.json: every rerun retrained)."""
    import json

    from stepsize import run_record

    cfg = resolve(optimizer={"name": name, "lr": 0.001})
    assert isinstance(cfg["optimizer"]["betas"], list)
    assert json.loads(json.dumps(cfg)) == cfg
    record = {**run_record.new_record(cfg), "status": "ok", "code": {"modules": run_record.code_provenance()}}
    record = json.loads(json.dumps(record))  # as stepsize.batch reads it from run.json
    assert run_record.is_current(record, cfg)
    as_tuple = {**cfg, "optimizer": {**cfg["optimizer"], "betas": tuple(cfg["optimizer"]["betas"])}}
    assert run_record.comparable(as_tuple) == run_record.comparable(record["config"])


def test_betas_can_be_set_as_a_yaml_list():
    given = ["optimizer={name: adamw, lr: 0.001, betas: [0.9, 0.95]}"]
    cfg = config.resolve(config.apply_overrides({}, given))
    assert cfg["optimizer"]["betas"] == [0.9, 0.95]
    assert config.resolve(config.apply_overrides({}, ["optimizer.name=adam", "optimizer.betas=[0, 0.5]"]))[
        "optimizer"]["betas"] == [0, 0.5]


@pytest.mark.parametrize(("betas", "message"), [
    ("[0.9]", r"^optimizer.betas: expected a list of 2 values like \[0.9, 0.999\], got list \[0.9\]"),
    ("[0.9, 0.95, 0.99]", r"^optimizer.betas: expected a list of 2 values"),
    ("0.9", r"^optimizer.betas: expected a list of 2 values .*got float 0.9"),
    ("[0.9, fast]", r"^optimizer.betas\[1\]: expected float, got str 'fast'"),
    ("[0.9, 1.5]", r"betas\[1\] must be in \[0, 1\)"),
])
def test_bad_betas_are_one_line_naming_the_key(betas, message):
    with pytest.raises(ValueError, match=message) as err:
        config.resolve(config.apply_overrides({}, ["optimizer.name=adamw", f"optimizer.betas={betas}"]))
    assert "\n" not in str(err.value)


@pytest.mark.timeout(30)
def test_yaml_aliases_are_refused_in_configs_and_overrides(tmp_path):
    from factories import billion_laughs

    path = tmp_path / "bomb.yaml"
    path.write_text("data:\n  name: synthetic\ntrain:\n  " + billion_laughs())
    with pytest.raises(ValueError, match=r"bomb.yaml: YAML aliases are not allowed \(\*a0 at line 5") as err:
        config.load(path)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"^--set eval.along: YAML aliases are not allowed \(\*s"):
        config.apply_overrides({}, ["eval.along=[&s test, *s]"])


def test_ema_decay_from_the_window_averages_the_tail_window_at_every_budget():
    """d = 1 − 2/(W + 1): the EMA's centre of mass sits (W − 1)/2 updates back, as the tail average's does."""
    for steps, start in ((30, 0.75), (300, 0.75), (100, 0.5)):
        swa = {"variants": ["ema"], "start": start, "ema_from_window": True}
        cfg = resolve(budget={"steps": steps}, swa=swa)
        window = steps - min(round(start * steps), steps - 1)
        d = cfg["swa"]["ema_decay"]
        assert d == pytest.approx(1 - 2 / (window + 1))
        weights = [(1 - d) * d**k for k in range(10_000)]  # the weight of the iterate k updates back
        centre = sum(k * w for k, w in enumerate(weights)) / sum(weights)
        assert centre == pytest.approx((window - 1) / 2, rel=1e-6)
    fixed = resolve(budget={"steps": 30}, swa={"variants": ["ema"], "ema_decay": 0.98})
    assert fixed["swa"]["ema_decay"] == 0.98
