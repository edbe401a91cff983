/**
 * Captures everything written to stdout and stderr (Powertools Logger and Metrics write there) so tests can
 * scan the log output for secret material (with test/support/leaks.ts, the one leak scanner).
 */
export class OutputCapture {
  #chunks: string[] = [];
  /** Where `text` and `records` start: `clear()` moves it, the full capture stays for `stop()`. */
  #from = 0;
  #restore: (() => void) | undefined;

  start(): this {
    const { stdout, stderr } = process;
    const originalOut = stdout.write.bind(stdout);
    const originalErr = stderr.write.bind(stderr);
    const capture =
      (original: typeof stdout.write) =>
      (chunk: unknown, ...rest: unknown[]): boolean => {
        this.#chunks.push(
          typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'),
        );
        return process.env.SHOW_CAPTURED_LOGS
          ? (original as (...a: unknown[]) => boolean)(chunk, ...rest)
          : true;
      };
    stdout.write = capture(originalOut) as typeof stdout.write;
    stderr.write = capture(originalErr) as typeof stderr.write;
    this.#restore = () => {
      stdout.write = originalOut;
      stderr.write = originalErr;
    };
    return this;
  }

  /** Stops capturing and returns everything captured since `start()`. */
  stop(): string {
    this.#restore?.();
    this.#restore = undefined;
    return this.#chunks.join('');
  }

  /** Everything captured since `start()`, still capturing (a test that scans a whole file's logs). */
  get captured(): string {
    return this.#chunks.join('');
  }

  /** What was captured since the last `clear()`. */
  get text(): string {
    return this.#chunks.slice(this.#from).join('');
  }

  /** Parsed JSON log lines (non-JSON lines are skipped). */
  get records(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  /** Starts a new window for `text` and `records`, keeping the full capture. */
  clear(): void {
    this.#from = this.#chunks.length;
  }
}
