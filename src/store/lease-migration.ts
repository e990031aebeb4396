import type { Migration } from 'kysely';

/** The tables whose rows a replica runs under a lease: a job, an evaluation. */
const LEASED_TABLES = ['jobs', 'evaluations'] as const;

/**
 * Leases for work that replicas share: who holds a running row (`lease_owner`, a replica id), until
 * when (`lease_expires_at`, epoch ms), and how many times it was claimed (`attempts`). A row left
 * `running` by a replica that died is taken over once its lease has run out.
 */
export const leasesMigration: Migration = {
  async up(db) {
    for (const table of LEASED_TABLES) {
      await db.schema
        .alterTable(table)
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable(table).addColumn('lease_owner', 'varchar(255)').execute();
      await db.schema.alterTable(table).addColumn('lease_expires_at', 'bigint').execute();
      // What the takeover scan reads: running rows whose lease ran out.
      await db.schema.createIndex(`${table}_status_lease`).on(table).columns(['status', 'lease_expires_at']).execute();
    }
  },
  async down(db) {
    for (const table of LEASED_TABLES) {
      await db.schema.dropIndex(`${table}_status_lease`).on(table).execute();
      for (const column of ['lease_expires_at', 'lease_owner', 'attempts']) await db.schema.alterTable(table).dropColumn(column).execute();
    }
  },
};
