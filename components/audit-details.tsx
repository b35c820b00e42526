// An event's details: the first few fields inline, everything (exactly as hashed) on demand.
export function AuditDetails({ json }: { json: string }) {
  let fields: [string, unknown][] = [];
  try {
    fields = Object.entries(JSON.parse(json) as Record<string, unknown>);
  } catch {
    return <code>{json}</code>;
  }
  const show = (value: unknown) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text.length > 48 ? `${text.slice(0, 46)}…` : text;
  };
  return (
    <details>
      <summary>
        {fields.slice(0, 3).map(([key, value]) => (
          <span key={key} className="kv-inline">
            <span className="muted">{key}</span> {show(value)}
          </span>
        ))}
        {fields.length > 3 && <span className="muted"> +{fields.length - 3}</span>}
      </summary>
      <pre className="mono small wrap-text">
        {JSON.stringify(JSON.parse(json), null, 2)}
      </pre>
    </details>
  );
}

export function rolesText(stored: string): string {
  try {
    const roles = JSON.parse(stored) as string[];
    return roles.length ? roles.join(', ') : 'system';
  } catch {
    return stored;
  }
}
