/** The binary module assembled from core/engine/simd-kernels.wat. */
export function assembleKernels(): Promise<Buffer>;
/** The TypeScript module holding those bytes. */
export function kernelsModuleSource(bytes: Buffer): string;
