// SPDX-License-Identifier: MIT
/**
 * Text recognition evaluation for the PP-OCRv4 recognizer (a real pretrained ONNX model):
 * the character dictionary, greedy CTC decoding, character error rate, the rendered
 * SOTU text-line dataset (Arrow IPC) and running the recognizer in onnxruntime-web.
 *
 * @module
 */
export * from "./dictionary.ts";
export * from "./ctc.ts";
export * from "./cer.ts";
export * from "./dataset.ts";
export * from "./recognize.ts";
export * from "./quant_table.ts";
export * from "./png.ts";
