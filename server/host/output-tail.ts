import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

const MAX_LINE_CHARS = 1_000;

/** The last lines a child printed on stdout and stderr, interleaved as they arrived, for crash reports. */
export class OutputTail {
  private readonly lines: string[] = [];
  private readonly partials = new Map<Readable, string>();

  constructor(private readonly limit: number) {}

  capture(stream: Readable): void {
    const decoder = new StringDecoder('utf8');
    this.partials.set(stream, '');
    stream.on('data', (chunk: Buffer) => {
      const pieces = (this.partials.get(stream)! + decoder.write(chunk)).split('\n');
      this.partials.set(stream, pieces.pop()!.slice(-MAX_LINE_CHARS));
      for (const line of pieces) this.note(line);
    });
  }

  note(line: string): void {
    if (this.limit <= 0) return;
    this.lines.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
    if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit);
  }

  text(): string {
    const unfinished = [...this.partials.values()].filter((line) => line !== '');
    return [...this.lines, ...unfinished].slice(-this.limit).join('\n');
  }
}
