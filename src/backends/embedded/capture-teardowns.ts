/** embedded/capture-teardowns: postgres captures still to remove from users' databases, in SQLite. */
import type { CaptureTeardown, CaptureTeardowns } from '../ports.js';
import type { Db } from './database.js';

export class SqliteCaptureTeardowns implements CaptureTeardowns {
  private readonly sql;

  constructor(db: Db) {
    this.sql = {
      list: db.prepare(
        'SELECT function, connection, table_schema AS schema, table_name AS "table" FROM capture_teardowns ORDER BY since',
      ),
      add: db.prepare(
        'INSERT INTO capture_teardowns (function, connection, table_schema, table_name, since) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      remove: db.prepare(
        'DELETE FROM capture_teardowns WHERE function = ? AND connection = ? AND table_schema = ? AND table_name = ?',
      ),
    };
  }

  list(): CaptureTeardown[] {
    return this.sql.list.all() as CaptureTeardown[];
  }

  add(t: CaptureTeardown): void {
    this.sql.add.run(t.function, t.connection, t.schema, t.table, Date.now());
  }

  remove(t: CaptureTeardown): void {
    this.sql.remove.run(t.function, t.connection, t.schema, t.table);
  }
}
