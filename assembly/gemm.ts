// gemm kernels: see src/backend/kernels.ts for the contract.
