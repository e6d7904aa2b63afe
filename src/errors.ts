// Errors that box reports to the user as one line, with Docker's exit-code convention:
// 125 box's own error, 126 the command cannot run, 127 the command was not found.
export class BoxError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 125,
  ) {
    super(message);
    this.name = 'BoxError';
  }
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
