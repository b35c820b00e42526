// Prometheus text exposition format 0.0.4: each family is one "# HELP", one "# TYPE", then all its samples,
// contiguous. Label values are escaped (\\, \", \n) because module and version names reach us from manifests.

export type MetricType = 'counter' | 'gauge' | 'summary' | 'histogram';

const LABEL_ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n' };

export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => LABEL_ESCAPES[c]);
}

/** `name="value",…` for the inside of the braces; empty for no labels. */
export function labelSet(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
    .join(',');
}

export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export class ExpositionWriter {
  private readonly lines: string[] = [];

  family(name: string, type: MetricType, help: string): this {
    this.lines.push(`# HELP ${name} ${help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'))}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** `labels` as labelSet() writes them. */
  sample(name: string, labels: string, value: number): this {
    this.lines.push(`${name}${labels ? `{${labels}}` : ''} ${formatSampleValue(value)}`);
    return this;
  }

  /** A family of one sample without labels. */
  single(name: string, type: MetricType, help: string, value: number): this {
    return this.family(name, type, help).sample(name, '', value);
  }

  toString(): string {
    return this.lines.length ? `${this.lines.join('\n')}\n` : '';
  }
}
