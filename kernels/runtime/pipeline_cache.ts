// SPDX-License-Identifier: MIT
/**
 * Compiled compute pipelines, cached by kernel name and override constants. Concurrent
 * requests for the same key share one compilation; a failed compilation throws a
 * {@link ShaderCompileError} listing `line:col message` entries and is not cached.
 *
 * @module
 */
import { firstLine, ShaderCompileError, type ShaderMessage } from "./errors.ts";

/**
 * How a kernel binds each buffer, in binding order (group 0): `"read"` is
 * `var<storage, read>`, `"rw"` is `var<storage, read_write>`, `"uniform"` is `var<uniform>`.
 */
export type BindingKind = "read" | "rw" | "uniform";

/** A WGSL kernel: its name, source and binding table (one entry point, `main`). */
export interface KernelDef {
  /** Unique kernel name, the WGSL file's basename (`"matmul"`). */
  readonly name: string;
  /** WGSL source. */
  readonly code: string;
  /** Binding kinds for `@group(0) @binding(i)`, i = 0, 1, ... */
  readonly bindings: readonly BindingKind[];
}

/** Override constants passed at pipeline creation (`override NAME: u32`). */
export type OverrideConstants = Readonly<Record<string, number>>;

/** A compiled kernel: the pipeline and its explicit bind group layout. */
export interface CompiledKernel {
  /** The kernel it was compiled from. */
  readonly kernel: KernelDef;
  /** The compute pipeline (entry point `main`). */
  readonly pipeline: GPUComputePipeline;
  /** Bind group layout of group 0, from the kernel's binding table. */
  readonly layout: GPUBindGroupLayout;
}

const BUFFER_TYPES: Record<BindingKind, GPUBufferBindingType> = {
  read: "read-only-storage",
  rw: "storage",
  uniform: "uniform",
};

/** Cache of compiled kernels for one device. */
export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #entries = new Map<string, Promise<CompiledKernel>>();

  /**
   * Creates an empty cache.
   *
   * @param device the device pipelines are created on
   */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of cached (or in-flight) pipelines. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Returns the compiled kernel for `(kernel.name, constants)`, compiling it once.
   *
   * @throws {ShaderCompileError} when the WGSL does not compile or the pipeline is invalid
   */
  get(kernel: KernelDef, constants: OverrideConstants = {}): Promise<CompiledKernel> {
    const key = cacheKey(kernel.name, constants);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = this.#compile(kernel, constants);
      this.#entries.set(key, entry);
      // A failure is not cached, so that a fixed source or a retry can succeed.
      entry.catch(() => this.#entries.delete(key));
    }
    return entry;
  }

  async #compile(kernel: KernelDef, constants: OverrideConstants): Promise<CompiledKernel> {
    const device = this.#device;
    // Push and pop with no await in between: error scopes form one stack per device, so an
    // await here would let a concurrent compilation pop this scope.
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ label: kernel.name, code: kernel.code });
    const layout = device.createBindGroupLayout({
      label: kernel.name,
      entries: kernel.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: BUFFER_TYPES[kind] },
      })),
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
    const scope = device.popErrorScope();
    const info = await module.getCompilationInfo();
    const scoped = await scope;
    const errors: ShaderMessage[] = info.messages
      .filter((m) => m.type === "error")
      .map((m) => ({ type: m.type, line: m.lineNum, col: m.linePos, text: firstLine(m.message) }));
    if (errors.length === 0 && scoped !== null) {
      errors.push({ type: "error", line: 0, col: 0, text: firstLine(scoped.message) });
    }
    if (errors.length > 0) {
      throw new ShaderCompileError(kernel.name, errors, kernel.code, scoped ? { cause: scoped } : undefined);
    }
    try {
      const pipeline = await device.createComputePipelineAsync({
        label: kernel.name,
        layout: pipelineLayout,
        compute: { module, entryPoint: "main", constants: { ...constants } },
      });
      return { kernel, pipeline, layout };
    } catch (cause) {
      const text = firstLine((cause as Error)?.message ?? String(cause));
      throw new ShaderCompileError(kernel.name, [{ type: "error", line: 0, col: 0, text }], kernel.code, {
        cause,
      });
    }
  }
}

function cacheKey(name: string, constants: OverrideConstants): string {
  const keys = Object.keys(constants).sort();
  return `${name}|${keys.map((k) => `${k}=${constants[k]}`).join(",")}`;
}
