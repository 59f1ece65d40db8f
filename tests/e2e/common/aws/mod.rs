//! SDK clients pointed at the emulator, for seeding and for checking what jobdeploy did:
//! ECS and ECR here, EventBridge rules and their targets in `rules.rs`, Scheduler schedules
//! in `schedules.rs`.

mod rules;
mod schedules;

use aws_sdk_ecs::types::KeyValuePair;

use super::world::{EXEC_ROLE, LOG_GROUP, Network, PARAMETER, role_arn};
use super::{ACCOUNT, IMAGE, REGION};

pub use rules::{ecs_target, full_target, sqs_target};
pub use schedules::full_schedule;

/// The SDK's configuration for the emulator at `endpoint`, with test credentials.
pub fn sdk_config(rt: &tokio::runtime::Runtime, endpoint: &str) -> aws_config::SdkConfig {
    rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    )
}

/// SDK clients pointed at an endpoint, for seeding and for checking what jobdeploy did.
pub struct Aws {
    pub rt: tokio::runtime::Runtime,
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// Where the world's targets run (empty until the world seeds it).
    pub net: Network,
    endpoint: String,
}

impl Aws {
    pub fn new(endpoint: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = sdk_config(&rt, endpoint);
        Self {
            ecs: aws_sdk_ecs::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
            net: Network::default(),
            endpoint: endpoint.to_string(),
            rt,
        }
    }

    /// A cluster with the FARGATE and FARGATE_SPOT capacity providers (targets may name
    /// either in their strategy).
    pub fn create_cluster(&self, name: &str) -> String {
        let out = self
            .rt
            .block_on(
                self.ecs
                    .create_cluster()
                    .cluster_name(name)
                    .capacity_providers("FARGATE")
                    .capacity_providers("FARGATE_SPOT")
                    .send(),
            )
            .expect("create cluster");
        out.cluster()
            .and_then(|c| c.cluster_arn())
            .expect("arn")
            .to_string()
    }

    pub fn push_image(&self, repo: &str, tag: &str) {
        let _ = self
            .rt
            .block_on(self.ecr.create_repository().repository_name(repo).send());
        let manifest = image_manifest(repo, tag);
        self.rt
            .block_on(
                self.ecr
                    .put_image()
                    .repository_name(repo)
                    .image_manifest(manifest)
                    .image_tag(tag)
                    .send(),
            )
            .expect("put image");
    }

    /// Registers a task definition like the `app.json` template renders for `tag`.
    pub fn register(&self, family: &str, tag: &str) -> String {
        let container = aws_sdk_ecs::types::ContainerDefinition::builder()
            .name("app")
            .image(format!("{IMAGE}:{tag}"))
            .essential(true)
            .environment(KeyValuePair::builder().name("RELEASE").value(tag).build())
            .secrets(
                aws_sdk_ecs::types::Secret::builder()
                    .name("DATABASE_URL")
                    .value_from(PARAMETER)
                    .build()
                    .expect("secret"),
            )
            .log_configuration(
                aws_sdk_ecs::types::LogConfiguration::builder()
                    .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
                    .options("awslogs-group", LOG_GROUP)
                    .options("awslogs-region", REGION)
                    .options("awslogs-stream-prefix", family)
                    .build()
                    .expect("log configuration"),
            )
            .build();
        let out = self
            .rt
            .block_on(
                self.ecs
                    .register_task_definition()
                    .family(family)
                    .execution_role_arn(role_arn(EXEC_ROLE))
                    .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
                    .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
                    .cpu("256")
                    .memory("512")
                    .container_definitions(container)
                    .tags(
                        aws_sdk_ecs::types::Tag::builder()
                            .key("team")
                            .value("batch")
                            .build(),
                    )
                    .send(),
            )
            .expect("register");
        out.task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("arn")
            .to_string()
    }

    pub fn revisions(&self, family: &str) -> Vec<String> {
        self.rt
            .block_on(
                self.ecs
                    .list_task_definitions()
                    .family_prefix(family)
                    .send(),
            )
            .expect("list task definitions")
            .task_definition_arns()
            .to_vec()
    }

    /// ACTIVE or INACTIVE.
    pub fn status_of(&self, task_definition: &str) -> String {
        self.rt
            .block_on(
                self.ecs
                    .describe_task_definition()
                    .task_definition(task_definition)
                    .send(),
            )
            .expect("describe")
            .task_definition()
            .and_then(|t| t.status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default()
    }

    pub fn deregister(&self, task_definition: &str) {
        self.rt
            .block_on(
                self.ecs
                    .deregister_task_definition()
                    .task_definition(task_definition)
                    .send(),
            )
            .expect("deregister");
    }

    pub fn tags_of(&self, arn: &str) -> Vec<(String, String)> {
        let out = self
            .rt
            .block_on(
                self.ecs
                    .describe_task_definition()
                    .task_definition(arn)
                    .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                    .send(),
            )
            .expect("describe");
        out.tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The digest ECR has for `repo:tag`.
    pub fn image_digest(&self, repo: &str, tag: &str) -> String {
        let out = self
            .rt
            .block_on(
                self.ecr
                    .describe_images()
                    .repository_name(repo)
                    .image_ids(
                        aws_sdk_ecr::types::ImageIdentifier::builder()
                            .image_tag(tag)
                            .build(),
                    )
                    .send(),
            )
            .expect("describe images");
        out.image_details()
            .first()
            .and_then(|d| d.image_digest())
            .expect("digest")
            .to_string()
    }
}

/// An image manifest of its own for `repo:tag`: one layer whose digest is made from the name.
/// moto derives the image digest from the layer digests, so with no layers every tag had the
/// digest of the empty string (`sha256:e3b0c442…`) and any `tag@digest` of another tag passed.
pub fn image_manifest(repo: &str, tag: &str) -> String {
    let hex: String = format!("{repo}:{tag}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    let layer = format!("{:0<64}", hex).chars().take(64).collect::<String>();
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": format!("sha256:{}", "c".repeat(64)),
        },
        "layers": [{
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": 1,
            "digest": format!("sha256:{layer}"),
        }],
    })
    .to_string()
}

pub fn td_arn(family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}")
}
