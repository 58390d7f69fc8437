/**
 * Where a render's bytes go, in order, block by block. The bytes handed to `write` are the renderer's own
 * and are reused for the next block once `write` returns (or its promise settles): a sink that keeps them
 * must copy them.
 */
export interface ByteSink {
  /**
   * Called once, before the first write, when the format knows its total length in advance (WAV does, MP3
   * does not), so a sink that collects can allocate once instead of concatenating.
   */
  expect?(totalBytes: number): void;
  /** A promise returned is awaited before the next block is rendered (backpressure). */
  write(bytes: Uint8Array): void | Promise<void>;
}

/**
 * Collects a render in memory, for a store that keeps the bytes (recordings and recorded responses live
 * in the database). With a known length the bytes are copied into one buffer of that size, so the peak
 * is the file's size; without one, copies of the blocks are concatenated at the end.
 */
export class MemorySink implements ByteSink {
  private whole: Buffer | null = null;
  private readonly blocks: Buffer[] = [];
  private length = 0;

  expect(totalBytes: number): void {
    if (this.length > 0) throw new Error('MemorySink: expect() after a write');
    this.whole = Buffer.allocUnsafe(totalBytes);
  }

  write(bytes: Uint8Array): void {
    if (this.whole) {
      if (this.length + bytes.length > this.whole.length) throw new Error(`MemorySink: more than the ${this.whole.length} bytes announced`);
      this.whole.set(bytes, this.length);
    } else {
      this.blocks.push(Buffer.from(bytes)); // a copy: the renderer reuses its buffer
    }
    this.length += bytes.length;
  }

  /** Everything written. With an announced length, only once all of it has been written. */
  bytes(): Buffer {
    if (!this.whole) return Buffer.concat(this.blocks, this.length);
    // allocUnsafe's memory is not ours to hand out until every byte of it has been written.
    if (this.length !== this.whole.length) throw new Error(`MemorySink: ${this.length} of the ${this.whole.length} bytes announced`);
    return this.whole;
  }
}
