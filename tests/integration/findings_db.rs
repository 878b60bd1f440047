//! The findings persistence layer on its own: versioned updates, the MDT case, the projection.

use elysium_db::MIGRATOR;
use elysium_db::findings::{self, NewEvent, NewFinding};
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;

async fn seeded(pool: &PgPool) -> i64 {
    sqlx::query(
        "with p as (insert into patient (patient_id) values ('DB-1') returning id)
         insert into study (study_uid, patient_ref) select '2.25.1', id from p",
    )
    .execute(pool)
    .await
    .expect("study");
    let new = NewFinding {
        study_uid: "2.25.1".into(),
        series_uid: Some("2.25.404".into()),
        organ: "liver".into(),
        class_label: "HCC".into(),
        probability: 0.7,
        threshold: 0.5,
        class_probabilities: json!({"HCC": 0.7}),
        model_name: "m".into(),
        model_version: "1".into(),
        location: None,
        detected_at: OffsetDateTime::now_utc(),
        due_date: None,
        screening_result_ref: None,
    };
    let mut conn = pool.acquire().await.expect("conn");
    findings::insert(&mut conn, &new, "test").await.expect("insert").expect("study exists")
}

fn event<'a>(name: &'a str, from: &'a str, to: &'a str) -> NewEvent<'a> {
    NewEvent {
        event: name,
        from_status: from,
        to_status: to,
        actor_user_id: None,
        actor_username: "tester",
        actor_role: "coordinator",
        reason: None,
        payload: json!({}),
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_finding_on_an_unknown_study_is_not_created(pool: PgPool) {
    let mut conn = pool.acquire().await.expect("conn");
    let new = NewFinding {
        study_uid: "2.25.999".into(),
        series_uid: None,
        organ: "lung".into(),
        class_label: "Cancer".into(),
        probability: 0.9,
        threshold: 0.5,
        class_probabilities: json!({}),
        model_name: "m".into(),
        model_version: "1".into(),
        location: None,
        detected_at: OffsetDateTime::now_utc(),
        due_date: None,
        screening_result_ref: None,
    };
    assert_eq!(findings::insert(&mut conn, &new, "test").await.expect("insert"), None);
    let mut bad = new.clone();
    bad.study_uid = "2.25.1".into();
    bad.probability = 1.5;
    drop(conn);
    seeded(&pool).await;
    let mut conn = pool.acquire().await.expect("conn");
    let refused = findings::insert(&mut conn, &bad, "test").await;
    let code = match &refused {
        Err(elysium_db::DbError::Sqlx(sqlx::Error::Database(error))) => error.code().map(|c| c.into_owned()),
        _ => None,
    };
    assert_eq!(code.as_deref(), Some("23514"), "a probability above 1 is refused by the schema's check: {refused:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn updates_apply_only_at_the_expected_version(pool: PgPool) {
    let id = seeded(&pool).await;
    let mut conn = pool.acquire().await.expect("conn");
    let row = findings::get(&mut conn, id, None, false).await.expect("get").expect("row");
    assert_eq!(
        (row.status.as_str(), row.version, row.series_uid.clone()),
        ("new", 1, None),
        "unknown series is left empty"
    );
    let mut update = row.projection();
    update.status = "in_review".into();
    let version =
        findings::update(&mut conn, id, 1, &update, &event("start_review", "new", "in_review")).await.expect("update");
    assert_eq!(version, Some(2));
    let stale =
        findings::update(&mut conn, id, 1, &update, &event("start_review", "new", "in_review")).await.expect("update");
    assert_eq!(stale, None, "a stale version writes nothing");
    let history = findings::events(&pool, id).await.expect("events");
    assert_eq!(history.iter().map(|e| e.version).collect::<Vec<_>>(), [1, 2]);
    assert!(
        findings::get(&mut conn, id, Some(&[uuid::Uuid::new_v4()]), false).await.expect("get").is_none(),
        "outside the scope"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_mdt_case_is_opened_once_per_finding(pool: PgPool) {
    let id = seeded(&pool).await;
    let mut conn = pool.acquire().await.expect("conn");
    let user: uuid::Uuid = sqlx::query_scalar(
        "insert into app_user (username, display_name, password_hash) values ('u', 'U', 'x') returning id",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("user");
    let first = findings::open_mdt_case(&mut conn, id, user).await.expect("case");
    let again = findings::open_mdt_case(&mut conn, id, user).await.expect("case");
    assert_eq!(first, again);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_counts_per_state_follow_every_change(pool: PgPool) {
    let id = seeded(&pool).await;
    let counted = || async {
        let kept: Vec<(String, i64)> = sqlx::query_as(
            "select status, sum(n)::bigint from finding_count where n > 0 group by status order by status",
        )
        .fetch_all(&pool)
        .await
        .expect("kept counts");
        let actual: Vec<(String, i64)> =
            sqlx::query_as("select status, count(*) from finding group by status order by status")
                .fetch_all(&pool)
                .await
                .expect("actual counts");
        assert_eq!(kept, actual);
        kept
    };
    assert_eq!(counted().await, [("new".to_owned(), 1)]);
    let mut conn = pool.acquire().await.expect("conn");
    let row = findings::get(&mut conn, id, None, false).await.expect("get").expect("row");
    let mut update = row.projection();
    update.status = "in_review".into();
    findings::update(&mut conn, id, 1, &update, &event("start_review", "new", "in_review")).await.expect("update");
    // A change that keeps the status leaves the counts alone.
    findings::update(&mut conn, id, 2, &update, &event("add_note", "in_review", "in_review")).await.expect("update");
    assert_eq!(counted().await, [("in_review".to_owned(), 1)]);
}

/// The server's pool cancels a runaway statement (SQLSTATE 57014, query_canceled) instead of
/// holding the connection; migrating on that pool lifts the limit for the migrations only.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_pools_statement_timeout_cancels_a_runaway_query(pool: PgPool) {
    use sqlx::ConnectOptions;
    let url = pool.connect_options().to_url_lossy().to_string();
    let limited =
        elysium_db::connect_with_timeout(&url, 1, Some(std::time::Duration::from_millis(300))).await.expect("pool");
    let runaway = sqlx::query("select pg_sleep(5)").execute(&limited).await;
    assert_eq!(elysium_tests::sqlstate(&runaway).as_deref(), Some("57014"), "{runaway:?}");
    let quick: i32 = sqlx::query_scalar("select 1").fetch_one(&limited).await.expect("a quick statement runs");
    assert_eq!(quick, 1);
    elysium_db::migrate(&limited).await.expect("migrations run on the limited pool");
    // The one connection went back with the limit restored.
    let again = sqlx::query("select pg_sleep(5)").execute(&limited).await;
    assert_eq!(elysium_tests::sqlstate(&again).as_deref(), Some("57014"), "{again:?}");
}
