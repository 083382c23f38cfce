/**
 * Runs a bundled handler's entry in-process the way Lambda would: with the given environment variables set (and
 * those mapped to undefined unset) for the call only, and everything it writes to stdout and stderr captured (Powertools
 * writes through a Console on both, looking up `write` on every line).
 */
export async function capturedRun<T>(
  env: Readonly<Record<string, string | undefined>>,
  call: () => Promise<T>,
): Promise<{ outcome: { value: T } | { error: unknown }; output: string }> {
  const saved = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  const chunks: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    const outcome = await call().then((value) => ({ value }), (error: unknown) => ({ error }));
    return { outcome, output: chunks.join('') };
  } finally {
    for (const spy of spies) spy.mockRestore();
    process.env = saved;
  }
}
