// Saving and loading: the safetensors codec (io/safetensors.ts writes,
// io/safetensors-read.ts reads), files on disk (io/files.ts) and training
// checkpoints built on it (io/checkpoint.ts).

export { MAX_HEADER_BYTES, saveSafetensors, SafetensorsError } from "./io/safetensors.ts";
export type { LoadOptions, SafetensorsEntry, SafetensorsHeader, StateDictInput } from "./io/safetensors.ts";
export { loadSafetensors, readSafetensorsHeader } from "./io/safetensors-read.ts";
export { loadFile, saveFile } from "./io/files.ts";
export { loadCheckpoint, saveCheckpoint, type CheckpointParts } from "./io/checkpoint.ts";
