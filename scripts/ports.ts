// Says clearly which port is taken and which setting moves it, before anything starts.
import { createServer } from 'node:net';

export async function assertPortFree(port: number, host: string, setting: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `Port ${port} is already in use. Stop what is using it or choose another port with ${setting}.`
            : `Cannot listen on ${host}:${port} (${error.code ?? error.message}); change ${setting}.`,
        ),
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
