// The models and scalar fields of prisma/schema.prisma, as the parity tests compare them with the migrated databases.

export const SQLITE_TYPE: Record<string, string> = {
  String: 'TEXT',
  Int: 'INTEGER',
  BigInt: 'BIGINT',
  Boolean: 'BOOLEAN',
  DateTime: 'DATETIME',
  Float: 'REAL',
  Bytes: 'BLOB',
};

export function prismaModels(schema: string) {
  const models: { table: string; fields: { column: string; type: string; optional: boolean }[] }[] = [];
  for (const match of schema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    const [, name, body] = match;
    const map = /@@map\("(\w+)"\)/.exec(body)?.[1];
    const fields = body
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /^\w+\s+\w+[?[\]]*/.test(line) && !line.startsWith('@@'))
      .map((line) => {
        const [column, rawType] = line.split(/\s+/);
        return { column, type: rawType.replace(/[?[\]]/g, ''), optional: rawType.endsWith('?'), list: rawType.endsWith('[]') };
      })
      .filter((field) => field.type in SQLITE_TYPE && !field.list);
    models.push({ table: map ?? name, fields });
  }
  return models;
}
