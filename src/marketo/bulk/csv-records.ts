import { isAscii } from 'node:buffer';
import Papa from 'papaparse';

/** One CSV record: its cells, the file byte offset just past it, and the 1-based line it ends on. */
export type CsvRecordSink = (cells: string[], end: number, line: number) => void;

export interface CsvRecordReaderOptions {
  delimiter: string;
  /** File byte offset of the first byte fed: a resumed tail does not start at 0. */
  byteOffset: number;
  /** Drop a UTF-8 byte order mark in front of the first byte fed (a file's start, not a resumed tail's). */
  bom: boolean;
}

type Newline = '\n' | '\r\n' | '\r';
const BOM = 0xfeff;
const BOM_BYTES = 3;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The file's record delimiter, from its first line break outside quotes: papaparse needs one, and
 * Marketo writes one style per file. Undefined while the text seen so far cannot tell (no break
 * yet, or a '\r' that may be the first half of '\r\n'). A resumed tail starts at a record
 * boundary, so its quote state starts closed too.
 */
function detectNewline(text: string, final: boolean): Newline | undefined {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (c === LF) return '\n';
    else if (c === CR) {
      if (i + 1 < text.length) return text.charCodeAt(i + 1) === LF ? '\r\n' : '\r';
      return final ? '\r' : undefined;
    }
  }
  return final ? '\n' : undefined;
}

function quoteProblem(code: string): string {
  return code === 'MissingQuotes' ? 'a quoted cell is never closed (unclosed quote)' : 'a closing quote is followed by other characters than a delimiter or line break';
}

/**
 * Splits a CSV byte stream into records of cells, with papaparse doing the CSV work on text and
 * this reader turning its character positions into exact file byte offsets and line numbers.
 *
 * Bytes become text once per chunk (a streaming TextDecoder keeps a multi-byte character split
 * across chunks whole; bytes that are not UTF-8 fail the stream). Papaparse parses the text up
 * to its last complete record; the rest is carried into the next chunk's text. Byte offsets are
 * the character offsets while the text is ASCII, and the UTF-8 length of each record's
 * characters otherwise.
 *
 * Broken quoting (a quote left open at the end, a closing quote followed by other characters)
 * throws: nothing after it can be trusted.
 */
export class CsvRecordReader {
  // Fatal: a byte that is not UTF-8 would become U+FFFD, whose 3 bytes would shift every offset after it.
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** File byte offset just past the bytes fed so far. */
  private bytesFed: number;
  private readonly delimiter: string;
  private readonly onRecord: CsvRecordSink;
  private parser: Papa.Parser | undefined;
  private newline: Newline = '\n';
  private lineBreakChar = '\n';
  private bomPending: boolean;
  /** Text not yet parsed into a complete record, and the file byte offset of its first character. */
  private tail = '';
  private tailAscii = true;
  private tailByte: number;
  private lineBreaks = 0;
  // State of the parse call in progress, read by the step callback.
  private text = '';
  private ascii = true;
  private recordStart = 0;
  private recordStartByte = 0;

  constructor(options: CsvRecordReaderOptions, onRecord: CsvRecordSink) {
    this.delimiter = options.delimiter;
    this.tailByte = options.byteOffset;
    this.bytesFed = options.byteOffset;
    this.bomPending = options.bom;
    this.onRecord = onRecord;
  }

  write(chunk: Buffer): void {
    // An ASCII chunk cannot finish a character held back from the previous chunk, so its text is ASCII too.
    this.feed(this.decode(chunk), false, isAscii(chunk));
  }

  /** Parses what is left as the last record (a file need not end with a line break). */
  end(): void {
    this.feed(this.decode(undefined), true, true);
  }

  private decode(chunk: Buffer | undefined): string {
    const from = this.bytesFed;
    this.bytesFed += chunk?.length ?? 0;
    try {
      return chunk ? this.decoder.decode(chunk, { stream: true }) : this.decoder.decode();
    } catch {
      if (!chunk) throw new Error('bulk file is not valid UTF-8 (it ends inside a character)');
      throw new Error(`bulk file is not valid UTF-8 (in bytes ${from}-${this.bytesFed - 1})`);
    }
  }

  private feed(decoded: string, final: boolean, decodedAscii: boolean): void {
    let text = this.tail + decoded;
    let textByte = this.tailByte;
    if (this.bomPending) {
      if (text.length === 0 && !final) return;
      this.bomPending = false;
      if (text.charCodeAt(0) === BOM) {
        text = text.slice(1);
        textByte += BOM_BYTES;
      }
    }
    const parser = this.parser ?? this.createParser(text, final);
    if (!parser) {
      this.tail = text;
      this.tailByte = textByte;
      this.tailAscii &&= decodedAscii;
      return;
    }
    this.text = text;
    // All-ASCII text (the common case) needs no per-record UTF-8 count: characters are bytes.
    this.ascii = decodedAscii && this.tailAscii;
    this.recordStart = 0;
    this.recordStartByte = textByte;
    const result = parser.parse(text, 0, !final) as Papa.ParseResult<string[]>;
    // An error on the unfinished last record is not trusted yet (its closing quote may be followed
    // by a '\r\n' cut in half); the next chunk parses that record again. On the last call it counts.
    if (final && result.errors.length > 0) this.fail(result.errors[0]!.code, this.lineBreaks + 1);
    const consumed = result.meta.cursor;
    this.tailByte = this.byteAt(consumed);
    this.tail = consumed === text.length ? '' : text.slice(consumed);
    this.tailAscii = this.ascii || Buffer.byteLength(this.tail, 'utf8') === this.tail.length;
    this.text = '';
  }

  private createParser(text: string, final: boolean): Papa.Parser | undefined {
    const newline = detectNewline(text, final);
    if (newline === undefined) return undefined;
    this.newline = newline;
    this.lineBreakChar = newline === '\r' ? '\r' : '\n';
    this.parser = new Papa.Parser({
      delimiter: this.delimiter,
      newline,
      quoteChar: '"',
      step: (result: Papa.ParseStepResult<string[][]>) => this.step(result),
    });
    return this.parser;
  }

  private step(result: Papa.ParseStepResult<string[][]>): void {
    const end = result.meta.cursor;
    const text = this.text;
    // Line breaks inside quoted cells count as lines, as an editor shows the file.
    const breakChar = this.lineBreakChar;
    const startLine = this.lineBreaks + 1;
    let breaks = 0;
    for (let i = text.indexOf(breakChar, this.recordStart); i !== -1 && i < end; i = text.indexOf(breakChar, i + 1)) {
      breaks += 1;
      if (i + 1 === end) break;
    }
    this.lineBreaks += breaks;
    const terminated = text.startsWith(this.newline, end - this.newline.length);
    const line = terminated ? this.lineBreaks : this.lineBreaks + 1;
    if (result.errors.length > 0) this.fail(result.errors[0]!.code, startLine);
    const byteEnd = this.byteAt(end);
    this.recordStart = end;
    this.recordStartByte = byteEnd;
    this.onRecord(result.data[0]!, byteEnd, line);
  }

  /** File byte offset of a character position of the current text at or past the current record's start. */
  private byteAt(position: number): number {
    if (this.ascii) return this.recordStartByte + position - this.recordStart;
    if (position === this.recordStart) return this.recordStartByte;
    return this.recordStartByte + Buffer.byteLength(this.text.slice(this.recordStart, position), 'utf8');
  }

  /** Names where the broken record starts: an unclosed quote runs to the end of the file. */
  private fail(code: string, startLine: number): never {
    throw new Error(`bulk file record starting on line ${startLine}: ${quoteProblem(code)}`);
  }
}
