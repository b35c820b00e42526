// Baseline for the host benchmark: the least a Node HTTP server can do to call the same koffi function.
import { createServer } from 'node:http';
import { ModuleLibrary } from '../../server/host/module-library';

const [file, port] = process.argv.slice(2);
const library = ModuleLibrary.open(file);
library.init(Buffer.from('alice 1000\nbob 1000\n'));
createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const answer = library.handle(Buffer.concat(chunks));
    res.writeHead(answer.code === 0 ? 200 : 500, { 'content-length': answer.body.length });
    res.end(answer.body);
  });
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
