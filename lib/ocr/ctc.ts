// SPDX-License-Identifier: MIT
/**
 * Greedy CTC decoding (PaddleOCR `CTCLabelDecode`): per time step the most probable class;
 * merge repeats, then drop blanks (class 0). The confidence is the mean probability of the
 * kept steps.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { OcrDictionary } from "./dictionary.ts";

/** A decoded line. */
export interface CtcDecoded {
  /** The decoded text (collapsed repeats, blanks removed). */
  text: string;
  /** Kept classes, in order. */
  classes: number[];
  /** Mean probability of the kept steps (0 when nothing was kept). */
  confidence: number;
}

/**
 * Decodes one sequence of class probabilities.
 *
 * @param probs f32 `[T, C]` or `[1, T, C]` (softmax outputs; logits give the same text)
 * @param dict classes (C must equal `dict.chars.length`)
 * @throws {TypeError} when the shape does not fit the dictionary
 *
 * @example
 * ```ts
 * import { ctcGreedyDecode } from "./ctc.ts";
 * import { parseDictionary } from "./dictionary.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * const d = parseDictionary("a\nb", { useSpaceChar: false }); // classes: blank, a, b
 * // steps: a a blank a b b  ->  "aab"
 * const p = new Tensor("f32", [6, 3], new Float32Array([0,1,0, 0,1,0, 1,0,0, 0,1,0, 0,0,1, 0,0,1]));
 * assert.equal(ctcGreedyDecode(p, d).text, "aab");
 * ```
 */
export function ctcGreedyDecode(probs: Tensor<"f32">, dict: OcrDictionary): CtcDecoded {
  const shape = probs.shape;
  const C = shape[shape.length - 1] as number;
  const T = probs.size / C;
  if ((shape.length !== 2 && !(shape.length === 3 && shape[0] === 1)) || C !== dict.chars.length) {
    throw new TypeError(
      `ctcGreedyDecode: Cannot decode probabilities of shape [${
        shape.join(", ")
      }] with ${dict.chars.length} classes: expected [T, ${dict.chars.length}]`,
    );
  }
  const classes: number[] = [];
  let text = "", conf = 0, prev = -1;
  for (let t = 0; t < T; t++) {
    let best = 0, bp = -Infinity;
    const o = t * C;
    for (let c = 0; c < C; c++) {
      const v = probs.data[o + c] as number;
      if (v > bp) (bp = v, best = c);
    }
    if (best !== 0 && best !== prev) {
      classes.push(best);
      text += dict.chars[best];
      conf += bp;
    }
    prev = best;
  }
  return { text, classes, confidence: classes.length ? conf / classes.length : 0 };
}
