//! A protected API behind API Gateway: the gateway has already checked the bearer
//! token (its JWT authorizer, or Gatehouse's Lambda authorizer) and the route's
//! scopes; the function only reads who called from the request context.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use serde_json::{Value, json};

/// The caller as the authorizer described it: `sub`, `client_id` and `scope`.
fn caller(req: &Request) -> Option<Value> {
    let RequestContext::ApiGatewayV2(ctx) = req.request_context_ref()? else {
        return None;
    };
    let auth = ctx.authorizer.as_ref()?;
    if let Some(jwt) = &auth.jwt {
        // JWT authorizer: the token's claims, as strings.
        let claim = |k: &str| jwt.claims.get(k).cloned();
        return Some(json!({
            "authorizer": "jwt",
            "sub": claim("sub"),
            "client_id": claim("client_id"),
            "scope": claim("scope"),
        }));
    }
    // Lambda authorizer: the context it returned.
    let lambda = &auth.fields;
    (!lambda.is_empty()).then(|| {
        json!({
            "authorizer": "lambda",
            "sub": lambda.get("sub"),
            "client_id": lambda.get("client_id"),
            "scope": lambda.get("scope"),
        })
    })
}

async fn handle(req: Request) -> Result<Response<Body>, Error> {
    let Some(caller) = caller(&req) else {
        // Only reachable without an authorizer in front: refuse.
        return Ok(Response::builder()
            .status(401)
            .header("www-authenticate", "Bearer")
            .body(Body::Empty)?);
    };
    let body =
        json!({ "route": format!("{} {}", req.method(), req.uri().path()), "caller": caller });
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(handle)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Request {
        let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
        lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_jwt_authorized_request_names_its_caller() {
        let resp = handle(event("get-notes-jwt.json")).await.unwrap();
        assert_eq!(resp.status(), 200);
        let Body::Text(t) = resp.body() else { panic!() };
        let v: Value = serde_json::from_str(t).unwrap();
        assert_eq!(v["caller"]["authorizer"], "jwt");
        assert_eq!(v["caller"]["client_id"], "reporting-job");
        assert_eq!(v["caller"]["scope"], "read");
    }

    #[tokio::test]
    async fn a_lambda_authorized_request_names_its_caller() {
        let resp = handle(event("delete-note-lambda.json")).await.unwrap();
        assert_eq!(resp.status(), 200);
        let Body::Text(t) = resp.body() else { panic!() };
        let v: Value = serde_json::from_str(t).unwrap();
        assert_eq!(v["caller"]["authorizer"], "lambda");
        assert_eq!(v["caller"]["sub"], "u-7f3a");
    }
}
