#!/usr/bin/env bash
# The exact commands that produced the shipped checkpoints (CPU, 2 threads).
# Needs the data sets: bash scripts/get_data.sh. Overwrites checkpoints/ (--force).
set -euo pipefail
cd "$(dirname "$0")/.."
T="python -m models.train"
for ds in mnist fashion-mnist; do $T reference --dataset $ds; done
$T classifier --dataset mnist         --epochs 15 --batch-size 128 --force
$T classifier --dataset fashion-mnist --epochs 5  --batch-size 128 --force
$T vae --dataset mnist         --latent-dim 16 --epochs 30 --batch-size 128 --beta 1 --force
$T vae --dataset mnist         --latent-dim 2  --epochs 30 --batch-size 128 --beta 1 --name mnist-vae2d --force
$T vae --dataset fashion-mnist --latent-dim 16 --epochs 10 --batch-size 128 --beta 1 --force
$T vae --dataset fashion-mnist --latent-dim 2  --epochs 10 --batch-size 128 --beta 1 --name fashion-mnist-vae2d --force
$T gan --dataset mnist         --latent-dim 64 --channels 32 --epochs 60 --batch-size 64 --force
$T gan --dataset fashion-mnist --latent-dim 64 --channels 32 --epochs 8  --batch-size 64 --force
