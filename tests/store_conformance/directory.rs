//! DirectoryPort: people, teams, companies, contacts.

use super::*;

/// Users, teams, companies and contacts; no read crosses accounts.
pub async fn people_teams_and_companies(store: &dyn Store) {
    let account = store.create_account("People").await.expect("account");
    let other = store.create_account("Other").await.expect("account");
    let agent = store.create_user(new_user(account.id, "Agent@People.example", Role::Agent)).await.expect("agent");
    assert_eq!(agent.email, "agent@people.example");
    assert!(matches!(
        store.create_user(new_user(account.id, "agent@people.example", Role::Agent)).await,
        Err(StoreError::Conflict(_))
    ));
    let credentials = store.user_credentials("AGENT@people.example").await.expect("lookup").expect("found");
    assert_eq!((credentials.user.id, credentials.password_hash.as_deref()), (agent.id, Some("hash")));
    assert!(store.user(other.id, agent.id).await.expect("read").is_none(), "no query crosses accounts");

    let team = store
        .create_team(NewTeam {
            account_id: account.id,
            name: "Support".into(),
            description: String::new(),
            member_ids: vec![agent.id],
        })
        .await
        .expect("team");
    assert_eq!(team.member_ids, vec![agent.id]);
    assert_eq!(store.user(account.id, agent.id).await.expect("read").expect("agent").team_ids, vec![team.id]);
    let foreign = store.create_user(new_user(other.id, "x@other.example", Role::Agent)).await.expect("user");
    assert!(
        store
            .update_team(account.id, team.id, TeamPatch { member_ids: Some(vec![foreign.id]), ..TeamPatch::default() })
            .await
            .is_err(),
        "members must belong to the team's account"
    );
    let renamed = store
        .update_team(
            account.id,
            team.id,
            TeamPatch { name: Some("Tier 1".into()), member_ids: Some(vec![]), ..TeamPatch::default() },
        )
        .await
        .expect("update team");
    assert_eq!((renamed.name.as_str(), renamed.member_ids.len()), ("Tier 1", 0));
    assert_eq!(store.list_teams(account.id).await.expect("teams").len(), 1);

    let company = store
        .create_company(NewCompany {
            account_id: account.id,
            name: "Acme".into(),
            members_see_company_tickets: true,
            members_write_company_tickets: false,
            domains: Vec::new(),
            sla_tier: None,
        })
        .await
        .expect("company");
    let mut customer = new_user(account.id, "carla@acme.example", Role::Customer);
    customer.company_id = Some(company.id);
    let customer = store.create_user(customer).await.expect("customer");
    assert_eq!(
        store.company(account.id, company.id).await.expect("company").map(|c| c.members_see_company_tickets),
        Some(true)
    );
    let contacts = store.contacts(account.id, customer.id).await.expect("contacts");
    assert_eq!((contacts[0].channel, contacts[0].address.as_str()), (Channel::Email, "carla@acme.example"));
    assert_eq!(store.list_users(account.id, Some(Role::Customer)).await.expect("list").len(), 1);
    assert_eq!(store.list_users(account.id, None).await.expect("list").len(), 2);

    let updated = store
        .update_user(
            account.id,
            agent.id,
            UserPatch { name: Some("Ana".into()), capacity: Some(9), ..UserPatch::default() },
        )
        .await
        .expect("update");
    assert_eq!((updated.name.as_str(), updated.capacity), ("Ana", 9));
}

/// The directory version moves with every committed change to staff, teams and routing made
/// through the store; a staff directory cache reads again after one and not otherwise.
pub async fn staff_directories_follow_changes(store: Arc<dyn Store>) {
    use switchboard::staff::StaffDirectories;
    use switchboard_actors::routing::TeamRouting;

    let account = store.create_account("Staff cache").await.expect("account");
    let directories = StaffDirectories::new(store.clone());
    let first = directories.get(account.id).await.expect("directory");
    assert!(first.users.is_empty() && first.teams.is_empty());
    let again = directories.get(account.id).await.expect("directory");
    assert!(Arc::ptr_eq(&first, &again), "nothing changed: the copy is used, not read again");

    let mut version = store.directory_version();
    let mut moved = |what: &str| {
        let now = store.directory_version();
        assert!(now > version, "{what} moves the directory version");
        version = now;
    };
    let agent = store.create_user(new_user(account.id, "cached@staff.example", Role::Agent)).await.expect("agent");
    moved("a new user");
    assert_eq!(
        directories.get(account.id).await.expect("directory").users.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![agent.id]
    );
    let team = store
        .create_team(NewTeam {
            account_id: account.id,
            name: "Cached".into(),
            description: String::new(),
            member_ids: vec![],
        })
        .await
        .expect("team");
    moved("a new team");
    store
        .update_team(account.id, team.id, TeamPatch { member_ids: Some(vec![agent.id]), ..TeamPatch::default() })
        .await
        .expect("members");
    moved("a team's members");
    let seen = directories.get(account.id).await.expect("directory");
    assert_eq!(seen.teams.iter().map(|team| team.member_ids.clone()).collect::<Vec<_>>(), vec![vec![agent.id]]);
    store
        .update_user(account.id, agent.id, UserPatch { active: Some(false), ..UserPatch::default() })
        .await
        .expect("deactivate");
    moved("a user's change");
    assert!(!directories.get(account.id).await.expect("directory").users[0].active);
    let routing = TeamRouting { mode: RoutingMode::RoundRobin, ..TeamRouting::default() };
    store.set_team_routing(account.id, team.id, &routing).await.expect("routing");
    moved("a team's routing");
    assert_eq!(directories.get(account.id).await.expect("directory").routed_teams, vec![team.id]);
    // A customer moves the version too (one read more), but is never staff.
    store.create_user(new_user(account.id, "customer@staff.example", Role::Customer)).await.expect("customer");
    assert_eq!(directories.get(account.id).await.expect("directory").users.len(), 1, "customers are not staff");
}
