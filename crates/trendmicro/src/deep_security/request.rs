//! The pure parts of talking to Deep Security: search filters, request bodies, and reading
//! answers and error messages.

use serde::Deserialize;
use serde_json::{Value, json};

use super::IpList;

/// A search for lists named exactly `name`: `stringWildcards` is false, since it defaults to
/// true and would make `%` and `_` in a name match anything.
pub fn search_by_name(name: &str, max_items: u32) -> Value {
    json!({
        "maxItems": max_items,
        "searchCriteria": [{
            "fieldName": "name",
            "stringTest": "equal",
            "stringValue": name,
            "stringWildcards": false,
        }],
    })
}

/// One page of lists with IDs above `last_id`, in ID order.
pub fn search_after_id(last_id: u32, max_items: u32) -> Value {
    json!({
        "maxItems": max_items,
        "searchCriteria": [{ "idValue": last_id, "idTest": "greater-than" }],
        "sortByObjectID": true,
    })
}

/// The body that creates a list (`ID` is assigned by the manager).
pub fn create_body(name: &str, description: &str, items: &[String]) -> Value {
    json!({ "name": name, "description": description, "items": items })
}

/// The body of a partial update: `items` replaces the whole array; the description changes
/// only when given.
pub fn modify_body(items: &[String], description: Option<&str>) -> Value {
    match description {
        Some(description) => json!({ "items": items, "description": description }),
        None => json!({ "items": items }),
    }
}

/// A list of IP lists (`GET /iplists`, `POST /iplists/search`).
#[derive(Debug, Deserialize)]
pub struct IpLists {
    #[serde(rename = "ipLists", default)]
    pub ip_lists: Vec<IpList>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

/// Deep Security's error text (`{"message": "..."}`), if the body has one.
pub fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body).ok()?.message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_search_is_exact() {
        let filter = search_by_name("Blocked_IPs%", 10);
        assert_eq!(
            filter,
            json!({"maxItems":10,"searchCriteria":[{"fieldName":"name","stringTest":"equal",
                   "stringValue":"Blocked_IPs%","stringWildcards":false}]})
        );
    }

    #[test]
    fn id_paging_sorts_by_object_id() {
        assert_eq!(
            search_after_id(42, 100),
            json!({"maxItems":100,"searchCriteria":[{"idValue":42,"idTest":"greater-than"}],
                   "sortByObjectID":true})
        );
    }

    #[test]
    fn modify_sends_only_what_changes() {
        let items = vec!["1.2.3.4".to_owned()];
        assert_eq!(modify_body(&items, None), json!({"items":["1.2.3.4"]}));
        assert_eq!(
            modify_body(&items, Some("d")),
            json!({"items":["1.2.3.4"],"description":"d"})
        );
        assert_eq!(
            create_body("n", "d", &items),
            json!({"name":"n","description":"d","items":["1.2.3.4"]})
        );
    }

    #[test]
    fn error_messages_are_read_when_present() {
        assert_eq!(
            error_message(br#"{"message":"The IP list does not exist."}"#).as_deref(),
            Some("The IP list does not exist.")
        );
        assert_eq!(error_message(b"oops"), None);
        let lists: IpLists =
            serde_json::from_slice(br#"{"ipLists":[{"ID":3,"name":"a"}]}"#).unwrap();
        assert_eq!(lists.ip_lists[0].id, 3);
    }
}
