// SPDX-License-Identifier: MIT
/**
 * Fixture for backend_test.ts (not a test file itself): one blas test registered through the
 * shared policy, run in a subprocess with a chosen environment.
 *
 * @module
 */
import { blasTest } from "../_backends.ts";

blasTest("policy fixture", (blas) => {
  if (blas.name !== "blas") throw new Error("expected the blas backend");
});
