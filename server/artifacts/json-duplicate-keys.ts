// JSON.parse keeps the last of two equal keys, so `{"module":"ledger",...,"module":"risk-rules"}` reads differently
// in tools that keep the first: a signed manifest must mean one thing to every reader. Node has no strict mode
// for this and the project takes no new dependency for ~30 lines, so this scanner walks text that JSON.parse has
// already accepted (it need not handle invalid JSON) and names the first key an object repeats.

/** The first repeated key as a dotted path (e.g. "file.sm3"), or null when every object's keys are distinct. */
export function firstDuplicateKey(validJson: string): string | null {
  const objects: { keys: Set<string>; path: string }[] = [];
  let lastKey = '';
  let i = 0;
  while (i < validJson.length) {
    const char = validJson[i];
    if (char === '"') {
      const end = endOfString(validJson, i);
      const value = JSON.parse(validJson.slice(i, end)) as string;
      i = end;
      const top = objects.at(-1);
      if (top && nextSignificant(validJson, i) === ':') {
        if (top.keys.has(value)) return top.path ? `${top.path}.${value}` : value;
        top.keys.add(value);
        lastKey = value;
      }
      continue;
    }
    if (char === '{') {
      const parent = objects.at(-1);
      objects.push({ keys: new Set(), path: parent ? (parent.path ? `${parent.path}.${lastKey}` : lastKey) : '' });
    } else if (char === '}') {
      objects.pop();
    }
    i += 1;
  }
  return null;
}

function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function nextSignificant(text: string, from: number): string | undefined {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i += 1;
  return text[i];
}
