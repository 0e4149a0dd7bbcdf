// The operator's sample of accounts to log in with: a CSV of `jid,password` (RFC 4180 quoting, an optional
// header line). The passwords stay in memory: they are never printed, logged or written to a report.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { JidError, parseJid } from '../jid.js';

export interface SampleAccount {
  /** Normalised bare JID. */
  jid: string;
  local: string;
  domain: string;
  password: string;
}

/** Splits one CSV line into fields; doubled quotes inside quoted fields are one quote. */
function fields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else value += line[i++];
      }
      out.push(value);
      i++; // the comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? line.length : comma;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

export function parsePasswordCsv(text: string, file: string): SampleAccount[] {
  const accounts: SampleAccount[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const [rawJid = '', password, ...rest] = fields(line);
    if (index === 0 && rawJid.trim().toLowerCase() === 'jid') return;
    // The line number only: the line itself holds a password.
    if (password === undefined || rest.length > 0) throw new UsageError(`${file} line ${index + 1}: expected two fields, jid,password (quote a password holding a comma)`);
    let jid;
    try {
      jid = parseJid(rawJid.trim());
    } catch (err) {
      throw new UsageError(`${file} line ${index + 1}: ${err instanceof JidError ? err.message : 'invalid JID'}`);
    }
    if (!jid.local) throw new UsageError(`${file} line ${index + 1}: ${rawJid.trim()} is not a user JID`);
    const bare = `${jid.local}@${jid.domain}`;
    if (seen.has(bare)) return;
    seen.add(bare);
    accounts.push({ jid: bare, local: jid.local, domain: jid.domain, password });
  });
  return accounts;
}

export async function readPasswordCsv(file: string): Promise<SampleAccount[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --passwords ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parsePasswordCsv(text, file);
}
