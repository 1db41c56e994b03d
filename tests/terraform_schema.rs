//! The schema checker itself: it catches each class of mistake it is there to catch.

mod support;

use serde_json::json;
use support::tf_schema::{expressions, Schema};

fn problems(doc: serde_json::Value) -> Vec<String> {
    Schema::load().check(&doc)
}

fn assert_one(doc: serde_json::Value, needle: &str) {
    let found = problems(doc);
    assert_eq!(
        found.len(),
        1,
        "expected one problem containing {needle:?}, got {found:?}"
    );
    assert!(found[0].contains(needle), "{found:?} lacks {needle:?}");
}

fn vpc(body: serde_json::Value) -> serde_json::Value {
    json!({ "resource": { "aws_vpc": { "main": body } } })
}

#[test]
fn a_correct_document_passes() {
    let doc = json!({
        "variable": { "cidr": { "type": "string" } },
        "locals": { "name": "x" },
        "data": { "aws_route53_zone": { "zone": { "name": "example.org" } } },
        "resource": {
            "aws_vpc": { "main": { "cidr_block": "${var.cidr}", "tags": { "Name": "${local.name}" }, "provider": "aws.x" } },
            "aws_subnet": { "a": {
                "vpc_id": "${aws_vpc.main.id}",
                "cidr_block": "${cidrsubnet(aws_vpc.main.cidr_block, 8, 1)}",
                "depends_on": ["aws_vpc.main"]
            } },
            "aws_instance": { "i": {
                "metadata_options": { "http_tokens": "required" },
                "root_block_device": [{ "encrypted": true, "volume_size": 10 }]
            } }
        },
        "output": { "zone": { "value": "${data.aws_route53_zone.zone.zone_id}" } }
    });
    assert_eq!(problems(doc), Vec::<String>::new());
}

#[test]
fn unknown_resource_and_data_source_types_are_caught() {
    assert_one(
        json!({ "resource": { "aws_vpcc": { "x": {} } } }),
        "resource.aws_vpcc: unknown resource type",
    );
    assert_one(
        json!({ "data": { "aws_zone": { "x": {} } } }),
        "data.aws_zone: unknown data type",
    );
}

#[test]
fn unknown_arguments_and_blocks_are_caught() {
    assert_one(
        vpc(json!({ "cidr": "10.0.0.0/16" })),
        "resource.aws_vpc.main.cidr: unknown argument",
    );
    assert_one(
        json!({ "resource": { "aws_instance": { "i": { "metadata_option": { "http_tokens": "required" } } } } }),
        "did you mean `metadata_options`?",
    );
    assert_one(
        json!({ "resource": { "aws_instance": { "i": { "metadata_options": { "http_token": "required" } } } } }),
        "resource.aws_instance.i.metadata_options.http_token: unknown argument",
    );
}

#[test]
fn missing_required_arguments_and_blocks_are_caught() {
    assert_one(
        json!({ "resource": { "aws_subnet": { "s": { "cidr_block": "10.0.0.0/24" } } } }),
        "required argument `vpc_id` is missing",
    );
    assert_one(
        json!({ "resource": { "aws_autoscaling_group": { "g": { "min_size": 1, "max_size": 2, "tag": [{ "key": "a", "value": "b" }] } } } }),
        "tag[0]: required argument `propagate_at_launch` is missing",
    );
}

#[test]
fn literal_values_must_fit_their_types() {
    assert_one(
        vpc(json!({ "enable_dns_support": "yes" })),
        "does not fit type \"bool\"",
    );
    assert_one(
        json!({ "resource": { "aws_autoscaling_group": { "g": { "min_size": "1", "max_size": 2 } } } }),
        "min_size",
    );
    assert_one(vpc(json!({ "tags": { "Name": 3 } })), "tags");
    assert_one(
        json!({ "resource": { "aws_instance": { "i": { "vpc_security_group_ids": "sg-1" } } } }),
        "vpc_security_group_ids",
    );
    assert_one(
        json!({ "resource": { "aws_instance": { "i": { "metadata_options": [{}, {}] } } } }),
        "a single block, given 2",
    );
    // An interpolation may stand for any type.
    assert_eq!(
        problems(vpc(json!({ "enable_dns_support": "${true}" }))),
        Vec::<String>::new()
    );
}

#[test]
fn references_must_name_defined_things_and_readable_attributes() {
    let with = |value: &str| {
        json!({
            "resource": { "aws_vpc": { "main": {} } },
            "data": { "aws_route53_zone": { "z": { "name": "example.org" } } },
            "output": { "o": { "value": value } }
        })
    };
    assert_eq!(problems(with("${aws_vpc.main.id}")), Vec::<String>::new());
    assert_one(
        with("${aws_vpc.other.id}"),
        "resource `aws_vpc.other` is not defined",
    );
    assert_one(
        with("${aws_vpc.main.vpc_arn}"),
        "`aws_vpc` has no attribute `vpc_arn`",
    );
    assert_one(
        with("${data.aws_route53_zone.y.zone_id}"),
        "data source `data.aws_route53_zone.y` is not defined",
    );
    assert_one(
        with("${data.aws_route53_zone.z.zone}"),
        "`aws_route53_zone` has no attribute `zone`",
    );
    assert_one(with("${var.nope}"), "variable `nope` is not declared");
    assert_one(with("${local.nope}"), "local `nope` is not defined");
    assert_one(
        with("x-${aws_subnet.a.id}"),
        "resource `aws_subnet.a` is not defined",
    );
    // Quoted strings and function names are not references.
    assert_eq!(
        problems(with("${lookup({\"aws_x.y\" = 1}, \"k\", aws_vpc.main.id)}")),
        Vec::<String>::new()
    );
    let depends =
        json!({ "resource": { "aws_vpc": { "main": { "depends_on": ["aws_subnet.missing"] } } } });
    assert_one(depends, "depends on `aws_subnet.missing`");
}

#[test]
fn remote_state_outputs_are_checked_against_the_upstream_workspace() {
    let doc = json!({
        "data": { "terraform_remote_state": { "network": { "backend": "local", "config": { "path": "x" } } } },
        "output": { "o": { "value": "${data.terraform_remote_state.network.outputs.vpc_idz[\"a\"]}" } }
    });
    let network = json!({ "output": { "vpc_ids": { "value": "x" } } });
    let upstream = [("network".to_string(), network)].into_iter().collect();
    let found = Schema::load().check_with_upstream(&doc, &upstream);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("workspace `network` has no output `vpc_idz`"));
}

#[test]
fn expressions_are_extracted_with_nesting() {
    assert_eq!(
        expressions("a ${x.y} b ${f({a = 1})} $${not}"),
        vec!["x.y", "f({a = 1})"]
    );
}

#[test]
fn names_bound_by_for_expressions_are_not_references() {
    let record = |name: &str| {
        json!({ "resource": {
            "aws_acm_certificate": { "c": { "domain_name": "example.org" } },
            "aws_route53_record": { "v": {
                "zone_id": "Z1", "type": "CNAME",
                "name": name,
            } }
        }})
    };
    let ok = "${one([for o in aws_acm_certificate.c.domain_validation_options : o.resource_record_name if o.domain_name == \"example.org\"])}";
    assert_eq!(problems(record(ok)), Vec::<String>::new());
    let keyed = "${join(\",\", [for k, v in aws_acm_certificate.c.tags_all : \"${k}=${v}\"])}";
    assert_eq!(problems(record(keyed)), Vec::<String>::new());
    // The collection iterated over is still checked, and so is a name the loop does not bind.
    assert_one(
        record("${[for o in aws_acm_certificate.c.domain_validation_optionz : o.x]}"),
        "has no attribute `domain_validation_optionz`",
    );
    assert_one(
        record("${[for o in aws_acm_certificate.c.domain_validation_options : p.x]}"),
        "resource `p.x` is not defined",
    );
}
