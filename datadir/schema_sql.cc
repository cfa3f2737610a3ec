// The final schemas (after the original's migrations 20240418_data_porter_feature and
// 20241002_modify_qualifications), statement by statement in the original's sqlite_master
// order, copied from databases the original created. "sqlite_sequence" marks where SQLite's
// sequence table must appear so table order (and so dump order) matches the original.
#include "datadir/schema_sql.h"

namespace mdb {

namespace {

const std::vector<std::string_view> kMephisto = {
    "sqlite_sequence",
    R"sql(CREATE TABLE imported_data (
        id INTEGER PRIMARY KEY,
        source_file_name TEXT NOT NULL,
        data_labels TEXT NOT NULL,
        table_name TEXT NOT NULL,
        unique_field_names TEXT NOT NULL,  /* JSON */
        unique_field_values TEXT NOT NULL,  /* JSON */
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    R"sql(CREATE TABLE migrations (
        id INTEGER PRIMARY KEY AUTOINCREMENT ,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        error_message TEXT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    R"sql(CREATE TABLE "projects" (
        project_id INTEGER PRIMARY KEY,
        project_name TEXT NOT NULL UNIQUE,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "tasks" (
        task_id INTEGER PRIMARY KEY,
        task_name TEXT NOT NULL UNIQUE,
        task_type TEXT NOT NULL,
        project_id INTEGER,
        parent_task_id INTEGER,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        FOREIGN KEY (parent_task_id) REFERENCES tasks (task_id),
        FOREIGN KEY (project_id) REFERENCES projects (project_id)
    ))sql",
    R"sql(CREATE TABLE "requesters" (
        requester_id INTEGER PRIMARY KEY,
        requester_name TEXT NOT NULL UNIQUE,
        provider_type TEXT NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "task_runs" (
        task_run_id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL,
        requester_id INTEGER NOT NULL,
        init_params TEXT NOT NULL,
        is_completed BOOLEAN NOT NULL,
        provider_type TEXT NOT NULL,
        task_type TEXT NOT NULL,
        sandbox BOOLEAN NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        FOREIGN KEY (task_id) REFERENCES tasks (task_id),
        FOREIGN KEY (requester_id) REFERENCES requesters (requester_id)
    ))sql",
    R"sql(CREATE TABLE "assignments" (
        assignment_id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL,
        task_run_id INTEGER NOT NULL,
        requester_id INTEGER NOT NULL,
        task_type TEXT NOT NULL,
        provider_type TEXT NOT NULL,
        sandbox BOOLEAN NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        FOREIGN KEY (task_id) REFERENCES tasks (task_id),
        FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id),
        FOREIGN KEY (requester_id) REFERENCES requesters (requester_id)
    ))sql",
    R"sql(CREATE TABLE "units" (
        unit_id INTEGER PRIMARY KEY,
        assignment_id INTEGER NOT NULL,
        unit_index INTEGER NOT NULL,
        pay_amount FLOAT NOT NULL,
        provider_type TEXT NOT NULL,
        status TEXT NOT NULL,
        agent_id INTEGER,
        worker_id INTEGER,
        task_type TEXT NOT NULL,
        task_id INTEGER NOT NULL,
        task_run_id INTEGER NOT NULL,
        sandbox BOOLEAN NOT NULL,
        requester_id INTEGER NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        FOREIGN KEY (assignment_id) REFERENCES assignments (assignment_id),
        FOREIGN KEY (agent_id) REFERENCES agents (agent_id),
        FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id),
        FOREIGN KEY (task_id) REFERENCES tasks (task_id),
        FOREIGN KEY (requester_id) REFERENCES requesters (requester_id),
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        UNIQUE (assignment_id, unit_index)
    ))sql",
    R"sql(CREATE TABLE "workers" (
        worker_id INTEGER PRIMARY KEY,
        worker_name TEXT NOT NULL UNIQUE,
        provider_type TEXT NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "agents" (
        agent_id INTEGER PRIMARY KEY,
        worker_id INTEGER NOT NULL,
        unit_id INTEGER NOT NULL,
        task_id INTEGER NOT NULL,
        task_run_id INTEGER NOT NULL,
        assignment_id INTEGER NOT NULL,
        task_type TEXT NOT NULL,
        provider_type TEXT NOT NULL,
        status TEXT NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (unit_id) REFERENCES units (unit_id),
        FOREIGN KEY (task_id) REFERENCES tasks (task_id) ON DELETE NO ACTION,
        FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id) ON DELETE NO ACTION,
        FOREIGN KEY (assignment_id) REFERENCES assignments (assignment_id) ON DELETE NO ACTION
    ))sql",
    R"sql(CREATE TABLE "onboarding_agents" (
        onboarding_agent_id INTEGER PRIMARY KEY,
        worker_id INTEGER NOT NULL,
        task_id INTEGER NOT NULL,
        task_run_id INTEGER NOT NULL,
        task_type TEXT NOT NULL,
        status TEXT NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id)
    ))sql",
    R"sql(CREATE TABLE "qualifications" (
        qualification_id INTEGER PRIMARY KEY,
        qualification_name TEXT NOT NULL UNIQUE,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    , description CHAR(500)))sql",
    R"sql(CREATE TABLE "granted_qualifications" (
        granted_qualification_id INTEGER PRIMARY KEY,
        worker_id INTEGER NOT NULL,
        qualification_id INTEGER NOT NULL,
        value INTEGER NOT NULL,
        update_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (qualification_id) REFERENCES qualifications (qualification_id),
        UNIQUE (worker_id, qualification_id)
    ))sql",
    R"sql(CREATE TABLE worker_review (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER,
        worker_id INTEGER NOT NULL,
        task_id INTEGER,
        status TEXT,
        review_note TEXT,
        bonus INTEGER,
        blocked_worker BOOLEAN DEFAULT false,
        /* ID of `db.qualifications` (not `db.granted_qualifications`) */
        updated_qualification_id INTEGER,
        updated_qualification_value INTEGER,
        /* ID of `db.qualifications` (not `db.granted_qualifications`) */
        revoked_qualification_id INTEGER,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),

        FOREIGN KEY (unit_id) REFERENCES units (unit_id),
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (task_id) REFERENCES tasks (task_id)
    ))sql",
    R"sql(CREATE INDEX requesters_by_provider_index ON requesters(provider_type))sql",
    R"sql(CREATE INDEX unit_by_status_index ON units(status))sql",
    R"sql(CREATE INDEX unit_by_assignment_id_index ON units(assignment_id))sql",
    R"sql(CREATE INDEX unit_by_task_run_index ON units(task_run_id))sql",
    R"sql(CREATE INDEX unit_by_task_run_by_worker_by_status_index ON units(task_run_id, worker_id, status))sql",
    R"sql(CREATE INDEX unit_by_task_by_worker_index ON units(task_id, worker_id))sql",
    R"sql(CREATE INDEX agent_by_worker_by_status_index ON agents(worker_id, status))sql",
    R"sql(CREATE INDEX agent_by_task_run_index ON agents(task_run_id))sql",
    R"sql(CREATE INDEX assignment_by_task_run_index ON assignments(task_run_id))sql",
    R"sql(CREATE INDEX task_run_by_requester_index ON task_runs(requester_id))sql",
    R"sql(CREATE INDEX task_run_by_task_index ON task_runs(task_id))sql",
    R"sql(CREATE INDEX worker_review_by_unit_index ON worker_review(unit_id))sql",
    R"sql(CREATE TABLE unit_review (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        unit_id INTEGER NOT NULL,
        worker_id INTEGER NOT NULL,
        task_id INTEGER NOT NULL,
        status TEXT NOT NULL,
        review_note TEXT,
        bonus INTEGER,
        blocked_worker BOOLEAN DEFAULT false,
        /* ID of `db.qualifications` (not `db.granted_qualifications`) */
        updated_qualification_id INTEGER,
        updated_qualification_value INTEGER,
        /* ID of `db.qualifications` (not `db.granted_qualifications`) */
        revoked_qualification_id INTEGER,
        created_at DATETIME DEFAULT CURRENT_TIMESTAMP,

        FOREIGN KEY (unit_id) REFERENCES units (unit_id),
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (task_id) REFERENCES tasks (task_id)
    ))sql",
};

const std::vector<std::string_view> kMock = {
    R"sql(CREATE TABLE requesters (
        requester_id TEXT PRIMARY KEY UNIQUE,
        is_registered BOOLEAN
    ))sql",
    R"sql(CREATE TABLE units (
        unit_id TEXT PRIMARY KEY UNIQUE,
        is_expired BOOLEAN
    ))sql",
    R"sql(CREATE TABLE workers (
        worker_id TEXT PRIMARY KEY UNIQUE,
        is_blocked BOOLEAN
    ))sql",
    R"sql(CREATE TABLE migrations (
        id INTEGER PRIMARY KEY AUTOINCREMENT ,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        error_message TEXT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    "sqlite_sequence",
};

const std::vector<std::string_view> kMturk = {
    R"sql(CREATE TABLE migrations (
        id INTEGER PRIMARY KEY AUTOINCREMENT ,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        error_message TEXT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    "sqlite_sequence",
    R"sql(CREATE TABLE "hits" (
        hit_id TEXT PRIMARY KEY UNIQUE,
        unit_id TEXT,
        assignment_id TEXT,
        link TEXT,
        assignment_time_in_seconds INTEGER NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "run_mappings" (
        hit_id TEXT,
        run_id TEXT
    ))sql",
    R"sql(CREATE TABLE "runs" (
        run_id TEXT PRIMARY KEY UNIQUE,
        arn_id TEXT,
        hit_type_id TEXT NOT NULL,
        hit_config_path TEXT NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        frame_height INTEGER NOT NULL DEFAULT 650
    ))sql",
    R"sql(CREATE TABLE "qualifications" (
        qualification_name TEXT PRIMARY KEY UNIQUE,
        requester_id TEXT,
        mturk_qualification_name TEXT,
        mturk_qualification_id TEXT,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
};

const std::vector<std::string_view> kProlific = {
    "sqlite_sequence",
    R"sql(CREATE TABLE migrations (
        id INTEGER PRIMARY KEY AUTOINCREMENT ,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        error_message TEXT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    R"sql(CREATE TABLE "studies" (
        id INTEGER PRIMARY KEY,
        prolific_study_id TEXT UNIQUE,
        status TEXT,
        link TEXT,
        task_run_id TEXT UNIQUE,
        assignment_time_in_seconds INTEGER NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "submissions" (
        id INTEGER PRIMARY KEY,
        prolific_submission_id TEXT UNIQUE,
        prolific_study_id TEXT,
        status TEXT DEFAULT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "run_mappings" (
        id INTEGER PRIMARY KEY,
        prolific_study_id TEXT,
        task_run_id TEXT
    ))sql",
    R"sql(CREATE TABLE "units" (
        id INTEGER PRIMARY KEY,
        unit_id TEXT UNIQUE,
        task_run_id TEXT,
        prolific_study_id TEXT,
        prolific_submission_id TEXT,
        is_expired BOOLEAN DEFAULT false,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "workers" (
        id INTEGER PRIMARY KEY,
        worker_id TEXT UNIQUE,
        is_blocked BOOLEAN default false,
        update_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "runs" (
        id INTEGER PRIMARY KEY,
        task_run_id TEXT UNIQUE,
        arn_id TEXT,
        prolific_workspace_id TEXT NOT NULL,
        prolific_project_id TEXT NOT NULL,
        prolific_study_id TEXT,
        prolific_study_config_path TEXT NOT NULL,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
        frame_height INTEGER NOT NULL DEFAULT 650,
        actual_available_places INTEGER DEFAULT NULL,
        listed_available_places INTEGER DEFAULT NULL
    ))sql",
    R"sql(CREATE TABLE "participant_groups" (
        id INTEGER PRIMARY KEY,
        qualification_name TEXT UNIQUE,
        requester_id TEXT,
        prolific_project_id TEXT,
        prolific_participant_group_name TEXT,
        prolific_participant_group_id TEXT,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
    R"sql(CREATE TABLE "qualifications" (
        id INTEGER PRIMARY KEY,
        prolific_participant_group_id TEXT,
        task_run_id TEXT,
        json_qual_logic TEXT,
        qualification_ids TEXT,
        creation_date DATETIME DEFAULT(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
    ))sql",
};

// The pre-migration ("legacy") schemas of the original, for --legacy sample data.
const std::vector<std::string_view> kLegacyMephisto = {
    R"sql(CREATE TABLE projects (
        project_id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_name TEXT NOT NULL UNIQUE,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    "sqlite_sequence",
    R"sql(CREATE TABLE tasks (
        task_id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_name TEXT NOT NULL UNIQUE,
        task_type TEXT NOT NULL,
        project_id INTEGER,
        parent_task_id INTEGER,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (parent_task_id) REFERENCES tasks (task_id),
        FOREIGN KEY (project_id) REFERENCES projects (project_id)
    ))sql",
    R"sql(CREATE TABLE requesters (
        requester_id INTEGER PRIMARY KEY AUTOINCREMENT,
        requester_name TEXT NOT NULL UNIQUE,
        provider_type TEXT NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    R"sql(CREATE TABLE task_runs (
        task_run_id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id INTEGER NOT NULL,
        requester_id INTEGER NOT NULL,
        init_params TEXT NOT NULL,
        is_completed BOOLEAN NOT NULL,
        provider_type TEXT NOT NULL,
        task_type TEXT NOT NULL,
        sandbox BOOLEAN NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (task_id) REFERENCES tasks (task_id),
        FOREIGN KEY (requester_id) REFERENCES requesters (requester_id)
    ))sql",
    R"sql(CREATE TABLE assignments (
        assignment_id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id INTEGER NOT NULL,
        task_run_id INTEGER NOT NULL,
        requester_id INTEGER NOT NULL,
        task_type TEXT NOT NULL,
        provider_type TEXT NOT NULL,
        sandbox BOOLEAN NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (task_id) REFERENCES tasks (task_id),
        FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id),
        FOREIGN KEY (requester_id) REFERENCES requesters (requester_id)
    ))sql",
    R"sql(CREATE TABLE units (
        unit_id INTEGER PRIMARY KEY AUTOINCREMENT,
        assignment_id INTEGER NOT NULL,
        unit_index INTEGER NOT NULL,
        pay_amount FLOAT NOT NULL,
        provider_type TEXT NOT NULL,
        status TEXT NOT NULL,
        agent_id INTEGER,
        worker_id INTEGER,
        task_type TEXT NOT NULL,
        task_id INTEGER NOT NULL,
        task_run_id INTEGER NOT NULL,
        sandbox BOOLEAN NOT NULL,
        requester_id INTEGER NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (assignment_id) REFERENCES assignments (assignment_id),
        FOREIGN KEY (agent_id) REFERENCES agents (agent_id),
        FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id),
        FOREIGN KEY (task_id) REFERENCES tasks (task_id),
        FOREIGN KEY (requester_id) REFERENCES requesters (requester_id),
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        UNIQUE (assignment_id, unit_index)
    ))sql",
    R"sql(CREATE TABLE workers (
        worker_id INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_name TEXT NOT NULL UNIQUE,
        provider_type TEXT NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    R"sql(CREATE TABLE agents (
        agent_id INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id INTEGER NOT NULL,
        unit_id INTEGER NOT NULL,
        task_id INTEGER NOT NULL,
        task_run_id INTEGER NOT NULL,
        assignment_id INTEGER NOT NULL,
        task_type TEXT NOT NULL,
        provider_type TEXT NOT NULL,
        status TEXT NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (unit_id) REFERENCES units (unit_id)
    ))sql",
    R"sql(CREATE TABLE qualifications (
        qualification_id INTEGER PRIMARY KEY AUTOINCREMENT,
        qualification_name TEXT NOT NULL UNIQUE,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    R"sql(CREATE TABLE granted_qualifications (
        granted_qualification_id INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id INTEGER NOT NULL,
        qualification_id INTEGER NOT NULL,
        value INTEGER NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (qualification_id) REFERENCES qualifications (qualification_id),
        UNIQUE (worker_id, qualification_id)
    ))sql",
    R"sql(CREATE TABLE onboarding_agents (
        onboarding_agent_id INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id INTEGER NOT NULL,
        task_id INTEGER NOT NULL,
        task_run_id INTEGER NOT NULL,
        task_type TEXT NOT NULL,
        status TEXT NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id)
    ))sql",
    R"sql(CREATE TABLE unit_review (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        unit_id INTEGER NOT NULL,
        worker_id INTEGER NOT NULL,
        task_id INTEGER NOT NULL,
        status TEXT NOT NULL,
        review_note TEXT,
        bonus INTEGER,
        blocked_worker BOOLEAN DEFAULT false,
        /* ID of `db.qualifications` (not `db.granted_qualifications`) */
        updated_qualification_id INTEGER,
        updated_qualification_value INTEGER,
        /* ID of `db.qualifications` (not `db.granted_qualifications`) */
        revoked_qualification_id INTEGER,
        created_at DATETIME DEFAULT CURRENT_TIMESTAMP,

        FOREIGN KEY (unit_id) REFERENCES units (unit_id),
        FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
        FOREIGN KEY (task_id) REFERENCES tasks (task_id)
    ))sql",
};

const std::vector<std::string_view> kLegacyMock = {
    R"sql(CREATE TABLE requesters (
        requester_id TEXT PRIMARY KEY UNIQUE,
        is_registered BOOLEAN
    ))sql",
    R"sql(CREATE TABLE units (
        unit_id TEXT PRIMARY KEY UNIQUE,
        is_expired BOOLEAN
    ))sql",
    R"sql(CREATE TABLE workers (
        worker_id TEXT PRIMARY KEY UNIQUE,
        is_blocked BOOLEAN
    ))sql",
};

const std::vector<std::string_view> kLegacyProlific = {
    R"sql(CREATE TABLE studies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        prolific_study_id TEXT UNIQUE,
        status TEXT,
        link TEXT,
        task_run_id TEXT UNIQUE,
        assignment_time_in_seconds INTEGER NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    "sqlite_sequence",
    R"sql(CREATE TABLE submissions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        prolific_submission_id TEXT UNIQUE,
        prolific_study_id TEXT,
        status TEXT DEFAULT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    R"sql(CREATE TABLE units (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        unit_id TEXT UNIQUE,
        run_id TEXT,
        prolific_study_id TEXT,
        prolific_submission_id TEXT,
        is_expired BOOLEAN DEFAULT false
    ))sql",
    R"sql(CREATE TABLE workers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id TEXT UNIQUE,
        is_blocked BOOLEAN default false
    ))sql",
    R"sql(CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT UNIQUE,
        arn_id TEXT,
        prolific_workspace_id TEXT NOT NULL,
        prolific_project_id TEXT NOT NULL,
        prolific_study_id TEXT,
        prolific_study_config_path TEXT NOT NULL,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
        frame_height INTEGER NOT NULL DEFAULT 650,
        actual_available_places INTEGER DEFAULT NULL,
        listed_available_places INTEGER DEFAULT NULL
    ))sql",
    R"sql(CREATE TABLE run_mappings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        prolific_study_id TEXT,
        run_id TEXT
    ))sql",
    R"sql(CREATE TABLE participant_groups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        qualification_name TEXT UNIQUE,
        requester_id TEXT,
        prolific_project_id TEXT,
        prolific_participant_group_name TEXT,
        prolific_participant_group_id TEXT,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
    R"sql(CREATE TABLE qualifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        prolific_participant_group_id TEXT,
        task_run_id TEXT,
        json_qual_logic TEXT,
        qualification_ids TEXT,
        creation_date DATETIME DEFAULT CURRENT_TIMESTAMP
    ))sql",
};
}  // namespace

const std::vector<std::string_view>& final_schema_statements(SchemaKind kind) {
  switch (kind) {
    case SchemaKind::Mephisto: return kMephisto;
    case SchemaKind::Mock: return kMock;
    case SchemaKind::Mturk: return kMturk;
    case SchemaKind::Prolific: return kProlific;
    case SchemaKind::LegacyMephisto: return kLegacyMephisto;
    case SchemaKind::LegacyMock: return kLegacyMock;
    case SchemaKind::LegacyProlific: return kLegacyProlific;
  }
  return kMock;
}

}  // namespace mdb
