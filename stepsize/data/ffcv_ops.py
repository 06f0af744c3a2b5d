"""The FFCV machinery behind `stepsize.data.ffcv_loader` that ffcv 1.0.2 lacks (see that module's
docstring, "Reproducibility" and "Side effects"): crop/flip decoders whose numba RNG is reseeded per example,
a QUASI_RANDOM order that is a pure function of (seed, epoch), restoring torch's thread count after ffcv
changes it, copying batches out of ffcv's rotating buffers, and stopping an epoch's decoding thread.
"""

from __future__ import annotations

import contextlib
import functools
import queue
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from stepsize.data.write_ffcv import import_ffcv

_PRIME = 2_147_483_647  # 2^31 - 1: keeps the seed arithmetic inside int64 and numba's uint32 seeds


@functools.cache
def ffcv_ops() -> SimpleNamespace:
    """FFCV operations with seeded randomness (built on first use, so importing this module stays cheap)."""
    import_ffcv()
    from ffcv.fields.rgb_image import IMAGE_MODES, RandomResizedCropRGBImageDecoder, get_random_crop
    from ffcv.libffcv import imdecode, resize_crop
    from ffcv.pipeline.compiler import Compiler
    from ffcv.transforms import RandomHorizontalFlip
    from ffcv.traversal_order import QuasiRandom
    from numba import njit

    @njit(cache=False)
    def batch_key(indices: np.ndarray, seed: int) -> int:
        """Polynomial hash of (seed, the batch's sample ids) modulo 2^31 - 1."""
        key = seed % _PRIME
        for index in indices:
            key = (key * 1_000_003 + np.int64(index) % _PRIME + 1) % _PRIME
        return key

    @njit(cache=False)
    def example_seed(key: int, position: int, salt: int) -> int:
        return ((key * 1_000_003 + position) % _PRIME * 1_000_003 + salt) % _PRIME

    class SeededRandomResizedCrop(RandomResizedCropRGBImageDecoder):
        """ffcv's RandomResizedCrop decoder with numba's RNG reseeded per example (see module docstring)."""

        def __init__(self, output_size: tuple[int, int], seed: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
            super().__init__(output_size, scale=scale, ratio=ratio)
            self.seed = int(seed)

        def generate_code(self):  # ffcv 1.0.2 ResizedCropRGBImageDecoder.generate_code + the reseeding
            jpg = IMAGE_MODES["jpg"]
            mem_read = self.memory_read
            my_range = Compiler.get_iterator()
            imdecode_c = Compiler.compile(imdecode)
            resize_crop_c = Compiler.compile(resize_crop)
            get_crop_c = Compiler.compile(get_random_crop)
            scale, ratio, seed = np.array(self.scale), np.array(self.ratio), self.seed

            def decode(batch_indices, my_storage, metadata, storage_state):
                destination, temp_storage = my_storage
                key = batch_key(batch_indices, seed)
                for dst_ix in my_range(len(batch_indices)):
                    source_ix = batch_indices[dst_ix]
                    field = metadata[source_ix]
                    image_data = mem_read(field["data_ptr"], storage_state)
                    height = np.uint32(field["height"])
                    width = np.uint32(field["width"])
                    if field["mode"] == jpg:
                        temp_buffer = temp_storage[dst_ix]
                        imdecode_c(
                            image_data, temp_buffer, height, width, height, width, 0, 0, 1, 1, False, False
                        )
                        selected_size = 3 * height * width
                        temp_buffer = temp_buffer.reshape(-1)[:selected_size]
                        temp_buffer = temp_buffer.reshape(height, width, 3)
                    else:
                        temp_buffer = image_data.reshape(height, width, 3)
                    np.random.seed(example_seed(key, dst_ix, 1))  # noqa: NPY002 (numba)
                    i, j, h, w = get_crop_c(height, width, scale, ratio)
                    resize_crop_c(temp_buffer, i, i + h, j, j + w, destination[dst_ix])
                return destination[: len(batch_indices)]

            decode.is_parallel = True
            return decode

    class SeededRandomHorizontalFlip(RandomHorizontalFlip):
        """ffcv's horizontal flip (probability ``flip_prob``) with the RNG reseeded per example."""

        def __init__(self, seed: int, flip_prob: float = 0.5):
            super().__init__(flip_prob)
            self.seed = int(seed)

        def generate_code(self):
            my_range = Compiler.get_iterator()
            flip_prob, seed = self.flip_prob, self.seed

            def flip(images, dst, indices):
                key = batch_key(indices, seed)
                for i in my_range(images.shape[0]):
                    np.random.seed(example_seed(key, i, 2))  # noqa: NPY002 (numba)
                    if np.random.random() < flip_prob:  # noqa: NPY002
                        dst[i] = images[i, :, ::-1]
                    else:
                        dst[i] = images[i]
                return dst

            flip.is_parallel = True
            flip.with_indices = True
            return flip

    class PureQuasiRandom(QuasiRandom):
        """ffcv's QUASI_RANDOM order as a pure function of (seed, epoch): shuffles a copy of its pages."""

        def sample_order(self, epoch: int) -> np.ndarray:
            pristine = self.page_to_samples_array
            self.page_to_samples_array = pristine.copy()
            try:
                return super().sample_order(epoch)
            finally:
                self.page_to_samples_array = pristine

    return SimpleNamespace(
        SeededRandomResizedCrop=SeededRandomResizedCrop,
        SeededRandomHorizontalFlip=SeededRandomHorizontalFlip,
        PureQuasiRandom=PureQuasiRandom,
    )


@contextlib.contextmanager
def torch_threads_kept() -> Iterator[None]:
    """Undo ffcv's ``torch.set_num_threads(num_workers)`` (ffcv.pipeline.compiler.Compiler)."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def copy_out(tensor: Tensor) -> Tensor:
    """Copy a batch out of ffcv's rotating buffers (reused a few batches later), keeping its strides.

    On CPU the copy is numpy's single-threaded one: torch's OpenMP copy, competing with numba's decoding
    threads for the same cores, was measured 4x slower end to end (2 cores, torch threads 2).
    """
    if tensor.device.type != "cpu":
        return tensor.clone(memory_format=torch.preserve_format)
    return torch.from_numpy(np.copy(tensor.numpy(), order="K"))


def stop_epoch(iterator: Any) -> None:
    """Stop an ffcv ``EpochIterator`` (a decoding thread) and wait until its thread has ended.

    ffcv's own ``close()`` only sets a flag that the thread reads when its output queue stays full, and
    does not wait: the thread could go on decoding (numba/TBB parallel code) while a new epoch's thread
    starts, or while the interpreter exits, which aborted the process ("terminate called without an
    active exception", seen in about 1 of 6 short runs). Here its batch list is emptied, so after the batch
    in progress it puts its end marker, and the queue is drained until the thread has returned."""
    iterator.iter_ixes = iter(())  # the thread's next `next(self.iter_ixes)` ends its epoch
    while iterator.is_alive():
        with contextlib.suppress(queue.Empty):
            iterator.output_queue.get(timeout=0.05)  # room for its pending put (a batch or the end marker)
    iterator.close()
