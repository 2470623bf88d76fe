/** Files of an imported dataset in datasets/<id>/. */
export const DATASET_FILES = {
  /** uint8 RGB [N, S, S, 3], images in dataset_images.idx order. */
  images: 'images.u8',
  /** float32 [S, S, 3], the mean training image. */
  mean: 'mean.f32',
  /** Mean pixel, RGB covariance and its eigen-decomposition, images per class. */
  stats: 'stats.json',
} as const;
