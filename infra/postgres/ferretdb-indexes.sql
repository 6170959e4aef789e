-- Lets FerretDB's equality filters use indexes. Run by the superuser in FerretDB's database
-- (`ferretdb`); idempotent.
--
-- FerretDB 1.x (PostgreSQL backend) turns an equality filter such as {_id: "x"} or
-- {customerId: "alice"} into `_jsonb -> 'customerId' @> '"alice"'`, and creates the indexes it
-- is asked for (and the `_id` index of every collection) as btree indexes on `_jsonb -> 'field'`.
-- A btree index cannot answer `@>`, so every lookup scans the whole collection. This file adds,
-- for every btree index FerretDB creates on a collection, a GIN index (jsonb_path_ops) on the same
-- expressions, which answers `@>`: an event trigger does it as FerretDB creates the index, and
-- a backfill does it for the collections that already exist.
--
-- The GIN indexes are built without a pending list (fastupdate = off): with one, new entries
-- wait in an unordered list that every lookup reads through, and under a burst of inserts it
-- held ~2,000 entries, so that each lookup by `_id` read them all. A single scalar per row is
-- cheap to add to the tree directly.
--
-- FerretDB sends the field name as a query parameter (`_jsonb -> $1`); a generic plan cannot
-- match it to an index expression, so FerretDB's database plans every query with its parameters
-- (plan_cache_mode = force_custom_plan; set by ./dev on the database).

set client_min_messages = warning;

create or replace function fooddelivery_mirror_index(btree oid) returns void
language plpgsql as $$
declare
  ix record;
  expr text;
  name text;
begin
  select i.indrelid::regclass as tbl, i.indnkeyatts as keys, c.relname as index_name,
         n.nspname as schema_name, t.relname as table_name
    into ix
    from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_am a on a.oid = c.relam
    join pg_class t on t.oid = i.indrelid
    join pg_namespace n on n.oid = t.relnamespace
   where i.indexrelid = btree and a.amname = 'btree';
  -- Only FerretDB's collections: `_jsonb` tables outside the system schemas, not its own
  -- metadata table.
  if not found or ix.schema_name in ('pg_catalog', 'information_schema', 'public')
     or ix.table_name like '\_ferretdb\_%' then
    return;
  end if;
  for k in 1..ix.keys loop
    expr := pg_get_indexdef(btree, k, true);
    -- One field's value, as FerretDB writes it: (_jsonb -> 'field'::text)
    continue when expr !~ '^\(*_jsonb -> ''[^'']*''::text\)*$';
    name := left(ix.index_name, 56) || '_gin' || k;
    execute format('create index if not exists %I on %s using gin ((%s) jsonb_path_ops) '
                   'with (fastupdate = off)', name, ix.tbl, expr);
    -- An index made by an earlier version of this file, with the pending list on.
    execute format('alter index %I.%I set (fastupdate = off)', ix.schema_name, name);
    perform gin_clean_pending_list(format('%I.%I', ix.schema_name, name)::regclass);
  end loop;
exception when others then
  -- Never fail FerretDB's own statement: without the index, queries are slower, not wrong.
  raise warning 'fooddelivery_mirror_index(%): %', btree, sqlerrm;
end
$$;

create or replace function fooddelivery_mirror_new_indexes() returns event_trigger
language plpgsql as $$
declare
  command record;
begin
  for command in select objid from pg_event_trigger_ddl_commands()
                  where command_tag = 'CREATE INDEX' and object_type = 'index' loop
    perform fooddelivery_mirror_index(command.objid);
  end loop;
end
$$;

drop event trigger if exists fooddelivery_mirror_indexes;
create event trigger fooddelivery_mirror_indexes on ddl_command_end
  when tag in ('CREATE INDEX')
  execute function fooddelivery_mirror_new_indexes();

-- The collections created before this trigger existed.
select fooddelivery_mirror_index(i.indexrelid)
  from pg_index i
  join pg_class t on t.oid = i.indrelid
  join pg_namespace n on n.oid = t.relnamespace
 where n.nspname not in ('pg_catalog', 'information_schema', 'public', 'pg_toast');
