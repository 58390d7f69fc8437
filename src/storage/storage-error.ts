/**
 * A storage problem an operator must fix (bad database URL, unreachable server, wrong credentials, a
 * data directory in use, a schema newer than the code): main.ts prints the message as one line and
 * exits with status 2, never a stack trace.
 */
export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageError';
  }
}
