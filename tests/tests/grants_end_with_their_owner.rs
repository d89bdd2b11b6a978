//! A user's sessions and grants end together, in one write to the user: a
//! password change, disabling, `end-sessions`, deleting, or deleting and
//! re-creating under the same name. Deleting a client ends its grants. Each case
//! starts from a signed-in browser and a grant with live tokens, and checks all of
//! them afterwards: the refresh token refused and inactive, the access token
//! inactive, and the browser sent back to the login page.

use gatehouse_core::domain::client::ClientType;
use gatehouse_core::registration;
use gatehouse_core::store::{ClientStore, UserStore};
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, UserAgent, param, pkce, tokens};
use gatehouse_tests::{TestClient, TestServer, assert_error};

/// A server with alice signed in in `ua`, and her grant's tokens to `client`.
struct Case {
    server: TestServer,
    client: TestClient,
    rs: TestClient,
    ua: UserAgent,
    access: String,
    refresh: String,
}

async fn signed_in_with_a_grant() -> Case {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    let rs = server.resource_server().await;
    let mut ua = UserAgent::new();
    let (verifier, challenge) = pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let page = ua.authorize(&server, &query, "alice").await;
    let code = param(&page.location().unwrap(), "code").unwrap();
    let (access, refresh) = tokens(
        &server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await,
    );
    assert!(server.is_active(&rs, &access).await);
    Case {
        server,
        client,
        rs,
        ua,
        access,
        refresh,
    }
}

impl Case {
    /// Whether the browser's session still signs it in: a code comes back without
    /// the login page.
    async fn session_signs_in(&mut self) -> bool {
        let (_, challenge) = pkce();
        let query =
            self.server
                .authorize_query(&self.client, CONFIDENTIAL_REDIRECT, "read", &challenge);
        let page = self
            .ua
            .get(&self.server.url(&format!("/authorize?{query}")))
            .await;
        if page.is_login() {
            return false;
        }
        assert_eq!(page.status, 302, "{}", page.body);
        true
    }

    async fn assert_grant_ended(&self, what: &str) {
        assert!(
            !self.server.is_active(&self.rs, &self.access).await,
            "{what}: access token"
        );
        assert!(
            !self.server.is_active(&self.rs, &self.refresh).await,
            "{what}: refresh token"
        );
        let answer = self
            .server
            .refresh_grant(&self.client, &self.refresh, None)
            .await;
        assert_error(&answer, 400, "invalid_grant");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_the_users_sessions_and_grants() {
    let mut c = signed_in_with_a_grant().await;
    assert!(c.session_signs_in().await, "the control");
    registration::set_user_password(&c.server.app.store, "alice", "a whole new password")
        .await
        .unwrap();
    c.assert_grant_ended("password change").await;
    assert!(!c.session_signs_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_ends_their_sessions_and_grants() {
    let mut c = signed_in_with_a_grant().await;
    assert!(
        c.server
            .app
            .store
            .set_disabled("alice", true)
            .await
            .unwrap()
    );
    c.assert_grant_ended("disabled").await;
    assert!(!c.session_signs_in().await);
    // Enabling them again revives neither.
    assert!(
        c.server
            .app
            .store
            .set_disabled("alice", false)
            .await
            .unwrap()
    );
    c.assert_grant_ended("re-enabled").await;
    assert!(!c.session_signs_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_sessions_ends_every_session_and_grant_of_the_user_only() {
    let mut c = signed_in_with_a_grant().await;
    // Bob's grant is untouched.
    c.server.user("bob").await;
    let (bob_access, _) = c.server.user_tokens(&c.client, "bob").await;
    assert!(c.server.app.store.end_sessions("alice").await.unwrap());
    c.assert_grant_ended("end-sessions").await;
    assert!(!c.session_signs_in().await);
    assert!(c.server.is_active(&c.rs, &bob_access).await);
    // Signing in again works, and makes live grants again.
    let (fresh, _) = c.server.user_tokens(&c.client, "alice").await;
    assert!(c.server.is_active(&c.rs, &fresh).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_or_re_creating_them_ends_their_sessions_and_grants() {
    let mut c = signed_in_with_a_grant().await;
    assert!(c.server.app.store.delete_user("alice").await.unwrap());
    c.assert_grant_ended("deleted").await;
    // A new account under the same name is another subject: nothing carries over.
    c.server.user("alice").await;
    c.assert_grant_ended("re-created").await;
    assert!(!c.session_signs_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_client_ends_its_grants() {
    let c = signed_in_with_a_grant().await;
    assert!(
        c.server
            .app
            .store
            .delete_client(&c.client.id)
            .await
            .unwrap()
    );
    assert!(!c.server.is_active(&c.rs, &c.access).await);
    assert!(!c.server.is_active(&c.rs, &c.refresh).await);
    // The deleted client cannot even authenticate to try its refresh token.
    let answer = c.server.refresh_grant(&c.client, &c.refresh, None).await;
    assert_error(&answer, 401, "invalid_client");
}
