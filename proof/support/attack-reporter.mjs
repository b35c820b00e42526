// A node:test reporter for the attacks proof: one JSON line per test named "attack: …" that ran (passed or failed),
// with its file and, for a failure, the first line of its error. Skipped tests (name pattern) are left out.
export default async function* attackReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, skip, details } = event.data;
    if (skip || !name.startsWith('attack: ')) continue;
    const error = details?.error?.cause ?? details?.error;
    const message = event.type === 'test:fail' ? String(error?.message ?? error ?? 'failed').split('\n')[0] : undefined;
    yield `${JSON.stringify({ name: name.slice('attack: '.length), file, passed: event.type === 'test:pass', durationMs: details?.duration_ms, message })}\n`;
  }
}
