// SPDX-License-Identifier: MIT
/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a
 * JSON header `{name: {dtype, shape, data_offsets}, "__metadata__"?}`, then raw tensor bytes.
 *
 * - Reading: {@link openSafetensors} (header at open, each tensor lazily by offset),
 *   {@link openCheckpoint} (single file or `model.safetensors.index.json` shards),
 *   {@link decodeSafetensors} (in memory).
 * - Writing: {@link writeSafetensors}, {@link createSafetensorsWriter} (streaming),
 *   {@link encodeSafetensors} (in memory).
 *
 * dtypes: F32, F64, F16 (raw bits), I8, U8, I32, U32 map to Tensor dtypes; BF16 reads as f32
 * (exact) or as raw bits through `readRaw`; BOOL reads as u8. Validation policy (holes allowed,
 * overlaps rejected) is documented in `_safetensors_header.ts`.
 *
 * @module
 */
export {
  MAX_HEADER_BYTES,
  type RawTensor,
  SAFETENSORS_DTYPE_SIZES,
  type SafetensorsDType,
  type SafetensorsInfo,
} from "./_safetensors_header.ts";
export { decodeSafetensors, openSafetensors, SafetensorsFile } from "./safetensors_read.ts";
export {
  createSafetensorsWriter,
  encodeSafetensors,
  type SafetensorsEntry,
  type SafetensorsValue,
  type SafetensorsWriter,
  writeSafetensors,
} from "./safetensors_write.ts";
export { type Checkpoint, INDEX_FILE, openCheckpoint, SINGLE_FILE } from "./safetensors_checkpoint.ts";
