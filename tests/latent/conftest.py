"""Tests of the latent models run single-threaded: the models are tiny, and on a shared
machine one thread is both faster and bit-for-bit reproducible."""

import torch

torch.set_num_threads(1)
