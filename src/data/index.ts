// wasmgrad's data module: torch.utils.data's datasets and loader, plus the d2l data helpers.

export { TensorDataset, type Dataset } from "./dataset.ts";
export { DataLoader, type DataLoaderOptions } from "./loader.ts";
export {
  fashionMnist,
  FashionMnistDataset,
  FASHION_MNIST_CLASS_NAMES,
  textLabels,
  type FashionMnistFiles,
  type FashionMnistOptions,
} from "./fashion-mnist.ts";
export { FASHION_MNIST_CLASSES } from "./idx.ts";
export { syntheticRegression } from "./synthetic.ts";
