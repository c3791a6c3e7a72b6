# Sourced from the repo root by the scripts that run on the GPU machine (it has no Node.js): puts the
# Node binary that ../../shared/tools/pack-node-for-device.sh packed as ${DEVICE_DIR:-.device}/node.xz
# on PATH, and points VLLM_TS_CUDA_ADDON at the addon under packages/cuda/build/Release unless the
# caller chose another.
xz -dc "${DEVICE_DIR:-.device}/node.xz" >/tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
export VLLM_TS_CUDA_ADDON=${VLLM_TS_CUDA_ADDON:-$PWD/packages/cuda/build/Release/vllm_cuda.node}
