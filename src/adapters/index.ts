// The one place that lists every source adapter.
import { UsageError } from '../errors.js';
import type { SourceAdapter, SourceAdapterDefinition, SourceOptions } from './source-adapter.js';
import { prosodyFilesAdapter } from './prosody-files.js';
import { prosodySqlAdapter } from './prosody-sql.js';
import { xep0227Adapter } from './xep0227.js';
import { ejabberdMysqlAdapter, ejabberdPostgresAdapter } from './ejabberd-sql.js';
import { openfireSqlAdapter } from './openfire-sql.js';
import { tigaseSqlAdapter } from './tigase-sql.js';
import { ejabberdXep0136MysqlAdapter, ejabberdXep0136PgAdapter } from './xep0136-ejabberd.js';
import { openfireMonitoringMysqlAdapter, openfireMonitoringPgAdapter } from './xep0136-openfire.js';
import { xep0136FileAdapter } from './xep0136-file.js';

export const SOURCE_ADAPTERS: SourceAdapterDefinition[] = [
  xep0227Adapter,
  prosodyFilesAdapter,
  prosodySqlAdapter,
  // Openfire's and Tigase's databases (issue 8).
  openfireSqlAdapter,
  tigaseSqlAdapter,
  // ejabberd's SQL database (issue 4).
  ejabberdPostgresAdapter,
  ejabberdMysqlAdapter,
  // Legacy XEP-0136 archive stores (issue 5).
  ejabberdXep0136PgAdapter,
  ejabberdXep0136MysqlAdapter,
  openfireMonitoringPgAdapter,
  openfireMonitoringMysqlAdapter,
  xep0136FileAdapter,
];

/** Opens `scheme:location`; the error names the known schemes when the scheme is unknown. */
export async function openSource(url: string, options: SourceOptions): Promise<SourceAdapter> {
  const colon = url.indexOf(':');
  const scheme = colon === -1 ? '' : url.slice(0, colon);
  const definition = SOURCE_ADAPTERS.find((d) => d.schemes.includes(scheme));
  if (!definition) {
    const known = SOURCE_ADAPTERS.map((d) => `  ${d.example}  ${d.summary}`).join('\n');
    throw new UsageError(`unknown source ${JSON.stringify(url)}: expected one of\n${known}`);
  }
  return definition.open(url.slice(colon + 1), options);
}
