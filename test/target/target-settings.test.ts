import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTargetConfig, resolveTargetSettings } from '../../src/target/mongooseim/target-settings.js';

async function config(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'xmig-toml-')), 'mongooseim.toml');
  await writeFile(path, text);
  return path;
}

describe('target settings from mongooseim.toml', () => {
  it('reads the mod_mam and auth options that change what is written', async () => {
    const path = await config(`
[general]
  hosts = ["example.com"]
[auth.password]
  format = "scram"
  hash = ["sha", "sha256"]
  scram_iterations = 4096
[modules.mod_mam]
  backend = "rdbms"
  full_text_search = false
  db_message_format = "mam_message_xml"
  [modules.mod_mam.pm]
    db_jid_format = "mam_jid_rfc"
    archive_groupchats = true
`);
    const settings = resolveTargetSettings(await readTargetConfig(path), { mamNode: 3 });
    expect(settings).toMatchObject({
      messageFormat: 'xml', pmJidFormat: 'rfc', fullTextSearch: false, archiveGroupchats: true,
      passwordFormat: 'scram', passwordHashes: ['sha1', 'sha256'], scramIterations: 4096, mamNode: 3,
    });
    expect(settings.origin).toMatchObject({ messageFormat: 'config', mamNode: 'flag', exmlShape: 'default' });
  });

  it('assumes MongooseIM defaults without a config', () => {
    expect(resolveTargetSettings({}, {})).toMatchObject({ messageFormat: 'compressed-eterm', exmlShape: 'exml4', pmJidFormat: 'mini', fullTextSearch: true, mamNode: 0 });
  });

  it('refuses a message format it cannot write, naming the option', async () => {
    const path = await config(`[modules.mod_mam]\n  db_message_format = "mam_message_json"\n`);
    await expect(readTargetConfig(path)).rejects.toThrow(/db_message_format = "mam_message_json" is not one xmpp-migrate can write/);
  });
});
