// SPDX-License-Identifier: MIT
/**
 * Raising a graph's `ai.onnx` opset (to 21 for blocked INT4 `DequantizeLinear`).
 *
 * ONNX has one opset per domain for the whole graph, so adding an opset-21 node means every
 * node must follow opset 21. Most ops only gained types since opset 9; the ones whose
 * signature changed are rewritten here, exactly:
 *
 * | op (before) | change | rewrite |
 * |---|---|---|
 * | Clip (< 11) | `min`/`max` attributes → inputs | constant inputs |
 * | Slice (< 10) | `starts`/`ends`/`axes` → inputs | INT64 constant inputs |
 * | Squeeze, Unsqueeze (< 13) | `axes` → input | INT64 constant input |
 * | ReduceSum (< 13), other Reduce* (< 18) | `axes` → input | INT64 constant input |
 * | Split (< 13 / < 18) | `split` → input; `num_outputs` needed without it | input / attribute |
 * | Pad (< 11) | `pads`, `value` → inputs | constant inputs |
 * | TopK (< 10) | `k` → input | constant input |
 * | Softmax, LogSoftmax, Hardmax (< 13) | flatten-to-2-D at `axis` → along `axis` | `Reshape(Op(Flatten(x, axis), -1), Shape(x))` unless axis = −1 |
 * | Dropout (< 12) | `ratio` → input | `Identity` (inference) |
 *
 * Ops that cannot be converted this way (Upsample, Scatter, Resize < 11, GroupNormalization
 * < 21, BatchNormalization with training outputs) raise a TypeError naming the node. The IR
 * version is raised to 10 (needed for INT4/UINT4 tensors).
 *
 * @module
 */
import { type OnnxModel, opsetVersion } from "./load.ts";
import { type AttributeProto, type NodeProto, type TensorProto, toNum } from "./proto.ts";
import { attr, floatTensorProto, getAttr, int64TensorProto, intAttr, intsAttr } from "./tensor_proto.ts";

const REDUCE_18 = new Set([
  "ReduceMean",
  "ReduceMax",
  "ReduceMin",
  "ReduceProd",
  "ReduceL1",
  "ReduceL2",
  "ReduceLogSum",
  "ReduceLogSumExp",
  "ReduceSumSquare",
]);

/** IR version written with opset ≥ 21 (INT4/UINT4 need IR 10). */
export const IR_VERSION_INT4 = 10;

/**
 * Upgrades the model's `ai.onnx` opset in place to `target` (≥ the current one).
 *
 * @returns the number of nodes rewritten
 * @throws {TypeError} naming the first node whose op cannot be converted
 */
export function upgradeOpset(model: OnnxModel, target = 21): number {
  const from = opsetVersion(model) ?? 1;
  if (from >= target) return 0;
  const g = model.graph;
  const newInits: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  let uid = 0, rewritten = 0;
  const konst = (base: string, t: (name: string) => TensorProto): string => {
    const name = `${base}__opset${target}_${uid++}`;
    newInits.push(t(name));
    return name;
  };
  const i64 = (base: string, v: readonly number[]) => konst(base, (n) => int64TensorProto(n, [v.length], v));
  const without = (n: NodeProto, names: string[]): AttributeProto[] =>
    (n.attribute ?? []).filter((a) => !names.includes(a.name));
  const cannot = (n: NodeProto, why: string) =>
    new TypeError(
      `upgradeOpset: Cannot convert node "${n.name}" (${n.opType}) from opset ${from} to ${target}: ${why}`,
    );

  for (const n of g.node) {
    if ((n.domain ?? "") !== "" && n.domain !== "ai.onnx") {
      nodes.push(n);
      continue;
    }
    const base = n.name || n.output[0] || n.opType;
    const op = n.opType;
    if (op === "Clip" && from < 11) {
      const min = getAttr(n, "min"), max = getAttr(n, "max");
      const inputs = [n.input[0] as string];
      inputs.push(min ? konst(base, (nm) => floatTensorProto(nm, [], new Float32Array([min.f ?? 0]))) : "");
      if (max) inputs.push(konst(base, (nm) => floatTensorProto(nm, [], new Float32Array([max.f ?? 0]))));
      nodes.push({ ...n, input: inputs, attribute: without(n, ["min", "max"]) });
      rewritten++;
    } else if (op === "Slice" && from < 10) {
      const inputs = [n.input[0] as string, i64(base, intsAttr(n, "starts", [])), i64(base, intsAttr(n, "ends", []))];
      if (getAttr(n, "axes")) inputs.push(i64(base, intsAttr(n, "axes", [])));
      nodes.push({ ...n, input: inputs, attribute: without(n, ["starts", "ends", "axes"]) });
      rewritten++;
    } else if (
      ((op === "Squeeze" || op === "Unsqueeze" || op === "ReduceSum") && from < 13) ||
      (REDUCE_18.has(op) && from < 18)
    ) {
      const inputs = [n.input[0] as string];
      if (getAttr(n, "axes")) inputs.push(i64(base, intsAttr(n, "axes", [])));
      nodes.push({ ...n, input: inputs, attribute: without(n, ["axes"]) });
      rewritten++;
    } else if (op === "Split" && from < 18) {
      const inputs = [...n.input];
      const split = getAttr(n, "split");
      if (split && from < 13) inputs[1] = i64(base, intsAttr(n, "split", []));
      const attrs = without(n, from < 13 ? ["split"] : []);
      if (!split && inputs.length < 2) attrs.push(attr.int("num_outputs", n.output.length));
      nodes.push({ ...n, input: inputs, attribute: attrs });
      rewritten++;
    } else if (op === "Pad" && from < 11) {
      const pads = intsAttr(n, "pads", []), value = getAttr(n, "value")?.f ?? 0;
      const inputs = [
        n.input[0] as string,
        i64(base, pads),
        konst(base, (nm) => floatTensorProto(nm, [], new Float32Array([value]))),
      ];
      nodes.push({ ...n, input: inputs, attribute: without(n, ["pads", "value"]) });
      rewritten++;
    } else if (op === "TopK" && from < 10) {
      nodes.push({
        ...n,
        input: [n.input[0] as string, i64(base, [intAttr(n, "k", 1)])],
        attribute: without(n, ["k"]),
      });
      rewritten++;
    } else if ((op === "Softmax" || op === "LogSoftmax" || op === "Hardmax") && from < 13) {
      const axis = intAttr(n, "axis", 1);
      if (axis === -1) {
        nodes.push(n);
        continue;
      }
      // Old semantics: coerce x to 2-D [d0·…·d(axis−1), d(axis)·…] and normalize each row.
      const x = n.input[0] as string, y = n.output[0] as string;
      const flat = `${y}__flat`, norm = `${y}__norm`, shape = `${y}__shape`;
      nodes.push({
        opType: "Flatten",
        name: `${base}__flatten`,
        input: [x],
        output: [flat],
        attribute: [attr.int("axis", axis)],
      });
      nodes.push({ opType: op, name: base, input: [flat], output: [norm], attribute: [attr.int("axis", -1)] });
      nodes.push({ opType: "Shape", name: `${base}__shape`, input: [x], output: [shape], attribute: [] });
      nodes.push({ opType: "Reshape", name: `${base}__reshape`, input: [norm, shape], output: [y], attribute: [] });
      rewritten++;
    } else if (op === "Dropout" && from < 12) {
      if (n.output.length > 1 && n.output[1]) throw cannot(n, "its mask output is used");
      nodes.push({
        opType: "Identity",
        name: base,
        input: [n.input[0] as string],
        output: [n.output[0] as string],
        attribute: [],
      });
      rewritten++;
    } else if (op === "Upsample" || op === "Scatter") {
      throw cannot(n, `${op} was removed from ONNX`);
    } else if (op === "Resize" && from < 11) {
      throw cannot(n, "Resize changed its inputs in opset 11");
    } else if (op === "GroupNormalization" && from < 21) {
      throw cannot(n, "GroupNormalization changed its scale/bias semantics in opset 21");
    } else if (op === "BatchNormalization") {
      if (n.output.filter((o) => o).length > 1) throw cannot(n, "it has training-mode outputs");
      nodes.push({ ...n, attribute: without(n, ["spatial", "is_test", "consumed_inputs"]) });
    } else {
      nodes.push(n);
    }
  }
  g.node = nodes;
  g.initializer.push(...newInits);
  for (const o of model.proto.opsetImport) {
    if ((o.domain ?? "") === "" || o.domain === "ai.onnx") o.version = target;
  }
  const ir = toNum(model.proto.irVersion);
  if (target >= 21 && ir < IR_VERSION_INT4) model.proto.irVersion = IR_VERSION_INT4;
  return rewritten;
}
