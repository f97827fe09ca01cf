// The CLI's settings from the environment; the only place that reads process.env.
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:4000';

export interface CliEnv {
  /** CITADEL_URL: the gateway when --url is not given. */
  url: string;
  /** Where credentials.json lives. */
  configDir: string;
}

/** CITADEL_CONFIG_DIR, else $XDG_CONFIG_HOME/citadel, else ~/.config/citadel. */
export function configDirFrom(vars: Readonly<Record<string, string | undefined>>, home: string): string {
  if (vars.CITADEL_CONFIG_DIR) return vars.CITADEL_CONFIG_DIR;
  if (vars.XDG_CONFIG_HOME) return join(vars.XDG_CONFIG_HOME, 'citadel');
  return join(home, '.config', 'citadel');
}

export function readEnv(vars: Readonly<Record<string, string | undefined>> = process.env, home = homedir()): CliEnv {
  return { url: vars.CITADEL_URL || DEFAULT_URL, configDir: configDirFrom(vars, home) };
}

/** The GraphQL endpoint for a gateway URL given with or without its /graphql path. */
export function graphqlEndpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return '';
  const path = parsed.pathname.replace(/\/+$/, '');
  parsed.pathname = path.endsWith('/graphql') ? path : `${path}/graphql`;
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}
