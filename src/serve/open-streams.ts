/**
 * The event streams being written now, so that a shutdown past its deadline can end each one
 * with an `error` event and `[DONE]` before it cuts the connections: a client then reads why
 * its stream stopped instead of a bare connection reset.
 */
import type { ServerResponse } from 'node:http';
import type { ApiError } from './api-error.js';

export interface OpenStream {
  /** Writes the error event and `[DONE]`, then ends the stream. */
  cut(error: ApiError): void;
  /** The HTTP response carrying the stream (finished once the last byte is out). */
  response: ServerResponse;
}

export class OpenStreams {
  private readonly streams = new Set<OpenStream>();

  get size(): number {
    return this.streams.size;
  }

  /** Registers a stream; the returned function unregisters it (call it when the stream ends). */
  add(stream: OpenStream): () => void {
    this.streams.add(stream);
    return () => this.streams.delete(stream);
  }

  /**
   * Cuts every open stream with `error` and resolves when their responses have flushed, or
   * after `graceMs` (a client that stopped reading cannot hold the shutdown).
   */
  async cutAll(error: ApiError, graceMs: number): Promise<void> {
    const streams = [...this.streams];
    const flushed = streams.map(
      (stream) =>
        new Promise<void>((resolve) => {
          if (stream.response.writableFinished || stream.response.destroyed) return resolve();
          stream.response.once('finish', () => resolve());
          stream.response.once('close', () => resolve());
        }),
    );
    for (const stream of streams) stream.cut(error);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(flushed),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
