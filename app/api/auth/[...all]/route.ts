import { toNextJsHandler } from 'better-auth/next-js';
import { auth } from '@/server/auth/auth';

const handlers = {
  GET: (req: Request) => toNextJsHandler(auth()).GET(req),
  POST: (req: Request) => toNextJsHandler(auth()).POST(req),
};

export const { GET, POST } = handlers;
