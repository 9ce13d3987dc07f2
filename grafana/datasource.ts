/**
 * The provisioned PostgreSQL datasource every panel, target and alert query refers to, and the
 * Grafana target shape for raw SQL (the SDK has no PostgreSQL query type).
 */
import type * as cog from "@grafana/grafana-foundation-sdk/cog";

/** The fixed uid set in `provisioning/datasources/activity_postgres.yaml`. */
export const DATASOURCE_UID = "activity-postgres";

/** The current PostgreSQL plugin id (the old `postgres` id is an alias). */
export const DATASOURCE_TYPE = "grafana-postgresql-datasource";

/** The datasource reference as an object, the only form a provisioned dashboard resolves. */
export interface DatasourceRef {
  readonly type: typeof DATASOURCE_TYPE;
  readonly uid: typeof DATASOURCE_UID;
}

/** Returns a fresh reference to the provisioned datasource. */
export function datasourceRef(): DatasourceRef {
  return { type: DATASOURCE_TYPE, uid: DATASOURCE_UID };
}

/** How Grafana turns rows into frames: `time_series` needs an ordered `time` column. */
export type QueryFormat = "time_series" | "table";

/** A raw-SQL target of the PostgreSQL datasource, as Grafana stores it. */
export interface PostgresTarget extends cog.Dataquery {
  refId: string;
  datasource: DatasourceRef;
  editorMode: "code";
  format: QueryFormat;
  rawQuery: true;
  rawSql: string;
}

/** What a raw-SQL target needs. */
export interface PostgresQueryOptions {
  readonly refId: string;
  readonly format: QueryFormat;
  readonly sql: string;
}

/** A builder of a raw-SQL target for the SDK's panel builders. */
export function postgresQuery(options: PostgresQueryOptions): cog.Builder<cog.Dataquery> {
  return {
    build: (): PostgresTarget => ({
      refId: options.refId,
      datasource: datasourceRef(),
      editorMode: "code",
      format: options.format,
      rawQuery: true,
      rawSql: options.sql,
      _implementsDataqueryVariant() {},
    }),
  };
}
