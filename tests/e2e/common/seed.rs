//! Seeding the services `verify` reads (IAM, SSM, Secrets Manager, CloudWatch Logs, EC2,
//! ECR manifests), with SDK clients pointed at moto directly: seeding is not what the proxy
//! records.

use serde_json::{Value, json};

use super::REGION;

/// SDK clients for the services verify reads, pointed at moto directly.
pub struct Seed {
    pub rt: tokio::runtime::Runtime,
    pub iam: aws_sdk_iam::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecr: aws_sdk_ecr::Client,
}

impl Seed {
    pub fn new(endpoint: &str) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let config = super::aws::sdk_config(&rt, endpoint);
        Self {
            iam: aws_sdk_iam::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            rt,
        }
    }

    /// A role whose trust policy is `statement` (JSON, sent as IAM takes it). A role the
    /// world already has (its standard roles) gets this trust policy instead.
    pub fn role(&self, name: &str, trust: Value) {
        let document = json!({"Version": "2012-10-17", "Statement": [trust]}).to_string();
        self.rt.block_on(async {
            let created = self
                .iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(&document)
                .send()
                .await;
            if created.is_err() {
                self.iam
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(&document)
                    .send()
                    .await
                    .expect("update trust policy");
            }
        });
    }

    /// An inline permission policy `name` on role `role` allowing `statements` (replacing
    /// one of that name: the world's roles carry theirs as `jobs`).
    pub fn role_policy(&self, role: &str, name: &str, statements: Value) {
        self.rt
            .block_on(
                self.iam
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(
                        json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
                    )
                    .send(),
            )
            .expect("put role policy");
    }

    /// A customer managed policy `name` with these statements, attached to `role` (or made
    /// its permissions boundary); returns its ARN.
    pub fn managed(&self, role: &str, name: &str, statements: Value, boundary: bool) -> String {
        self.rt.block_on(async {
            let out = self
                .iam
                .create_policy()
                .policy_name(name)
                .policy_document(
                    json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
                )
                .send()
                .await
                .expect("create policy");
            let arn = out
                .policy()
                .and_then(|p| p.arn())
                .expect("policy arn")
                .to_string();
            if boundary {
                self.iam
                    .put_role_permissions_boundary()
                    .role_name(role)
                    .permissions_boundary(&arn)
                    .send()
                    .await
                    .expect("boundary");
            } else {
                self.iam
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(&arn)
                    .send()
                    .await
                    .expect("attach");
            }
            arn
        })
    }

    pub fn parameter(&self, name: &str) {
        self.rt
            .block_on(
                self.ssm
                    .put_parameter()
                    .name(name)
                    .value("postgres://…")
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .send(),
            )
            .expect("put parameter");
    }

    /// SecureString `name` (created or overwritten) encrypted with KMS key `key_id`.
    pub fn parameter_with_key(&self, name: &str, key_id: &str) {
        self.rt
            .block_on(
                self.ssm
                    .put_parameter()
                    .name(name)
                    .value("postgres://…")
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .key_id(key_id)
                    .overwrite(true)
                    .send(),
            )
            .expect("put parameter");
    }

    /// Returns the secret's ARN.
    pub fn secret(&self, name: &str) -> String {
        let out = self
            .rt
            .block_on(
                self.secrets
                    .create_secret()
                    .name(name)
                    .secret_string(r#"{"token":"t"}"#)
                    .send(),
            )
            .expect("create secret");
        out.arn().expect("arn").to_string()
    }

    pub fn log_group(&self, name: &str) {
        self.rt
            .block_on(self.logs.create_log_group().log_group_name(name).send())
            .expect("create log group");
    }

    /// A VPC with a subnet whose route table sends 0.0.0.0/0 to an internet gateway (when
    /// `public`), and a security group: `(subnet, security group)`.
    pub fn network(&self, cidr: &str, public: bool) -> (String, String) {
        self.rt.block_on(async {
            let vpc = self
                .ec2
                .create_vpc()
                .cidr_block(cidr)
                .send()
                .await
                .expect("vpc");
            let vpc = vpc
                .vpc()
                .and_then(|v| v.vpc_id())
                .expect("vpc id")
                .to_string();
            let subnet = self
                .ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(cidr.replace(".0.0/16", ".1.0/24"))
                .send()
                .await
                .expect("subnet");
            let subnet = subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_string();
            let group = self
                .ec2
                .create_security_group()
                .group_name(format!("batch-{cidr}"))
                .description("batch")
                .vpc_id(&vpc)
                .send()
                .await
                .expect("security group");
            let group = group.group_id().expect("group id").to_string();
            let table = self
                .ec2
                .create_route_table()
                .vpc_id(&vpc)
                .send()
                .await
                .expect("route table");
            let table = table
                .route_table()
                .and_then(|t| t.route_table_id())
                .expect("table id")
                .to_string();
            self.ec2
                .associate_route_table()
                .route_table_id(&table)
                .subnet_id(&subnet)
                .send()
                .await
                .expect("associate");
            if public {
                let igw = self
                    .ec2
                    .create_internet_gateway()
                    .send()
                    .await
                    .expect("igw");
                let igw = igw
                    .internet_gateway()
                    .and_then(|g| g.internet_gateway_id())
                    .expect("igw id")
                    .to_string();
                self.ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(&igw)
                    .vpc_id(&vpc)
                    .send()
                    .await
                    .expect("attach");
                self.ec2
                    .create_route()
                    .route_table_id(&table)
                    .destination_cidr_block("0.0.0.0/0")
                    .gateway_id(&igw)
                    .send()
                    .await
                    .expect("route");
            }
            (subnet, group)
        })
    }

    /// A VPC whose private subnets (one per `cidrs`, in the VPC `vpc_cidr`) route 0.0.0.0/0
    /// to a NAT gateway in a public subnet, and a security group: `(subnets, group)`. What
    /// most accounts run scheduled Fargate jobs in: no public IP, no VPC endpoints needed.
    pub fn private_network(&self, vpc_cidr: &str, cidrs: &[&str]) -> (Vec<String>, String) {
        use aws_sdk_ec2::types::DomainType;
        self.rt.block_on(async {
            let ec2 = &self.ec2;
            let vpc = ec2
                .create_vpc()
                .cidr_block(vpc_cidr)
                .send()
                .await
                .expect("vpc");
            let vpc = vpc
                .vpc()
                .and_then(|v| v.vpc_id())
                .expect("vpc id")
                .to_string();
            let subnet = |cidr: String| {
                let vpc = vpc.clone();
                async move {
                    let out = ec2
                        .create_subnet()
                        .vpc_id(vpc)
                        .cidr_block(cidr)
                        .send()
                        .await
                        .expect("subnet");
                    out.subnet()
                        .and_then(|s| s.subnet_id())
                        .expect("subnet id")
                        .to_string()
                }
            };
            let table = |name: &'static str| {
                let vpc = vpc.clone();
                async move {
                    let out = ec2
                        .create_route_table()
                        .vpc_id(vpc)
                        .send()
                        .await
                        .expect(name);
                    out.route_table()
                        .and_then(|t| t.route_table_id())
                        .expect("table id")
                        .to_string()
                }
            };
            // The NAT gateway lives in a public subnet: its default route is the IGW.
            let public = subnet(vpc_cidr.replace(".0.0/16", ".255.0/24")).await;
            let igw = ec2.create_internet_gateway().send().await.expect("igw");
            let igw = igw
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .expect("igw id")
                .to_string();
            ec2.attach_internet_gateway()
                .internet_gateway_id(&igw)
                .vpc_id(&vpc)
                .send()
                .await
                .expect("attach igw");
            let public_table = table("public route table").await;
            ec2.create_route()
                .route_table_id(&public_table)
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(&igw)
                .send()
                .await
                .expect("igw route");
            ec2.associate_route_table()
                .route_table_id(&public_table)
                .subnet_id(&public)
                .send()
                .await
                .expect("associate public");
            let eip = ec2
                .allocate_address()
                .domain(DomainType::Vpc)
                .send()
                .await
                .expect("elastic ip");
            let nat = ec2
                .create_nat_gateway()
                .subnet_id(&public)
                .allocation_id(eip.allocation_id().expect("allocation id"))
                .send()
                .await
                .expect("nat gateway");
            let nat = nat
                .nat_gateway()
                .and_then(|n| n.nat_gateway_id())
                .expect("nat id")
                .to_string();
            let private_table = table("private route table").await;
            ec2.create_route()
                .route_table_id(&private_table)
                .destination_cidr_block("0.0.0.0/0")
                .nat_gateway_id(&nat)
                .send()
                .await
                .expect("nat route");
            let mut subnets = Vec::new();
            for cidr in cidrs {
                let id = subnet((*cidr).to_string()).await;
                ec2.associate_route_table()
                    .route_table_id(&private_table)
                    .subnet_id(&id)
                    .send()
                    .await
                    .expect("associate private");
                subnets.push(id);
            }
            let group = ec2
                .create_security_group()
                .group_name(format!("jobs-{vpc_cidr}"))
                .description("scheduled jobs")
                .vpc_id(&vpc)
                .send()
                .await
                .expect("security group");
            (subnets, group.group_id().expect("group id").to_string())
        })
    }

    /// The VPC endpoints a private subnet pulls from ECR through: `ecr.api` and `ecr.dkr`
    /// (interface) and S3 (gateway), in the subnet's VPC.
    pub fn ecr_endpoints(&self, subnet: &str) {
        self.rt.block_on(async {
            let out = self
                .ec2
                .describe_subnets()
                .subnet_ids(subnet)
                .send()
                .await
                .expect("subnet");
            let vpc = out
                .subnets()
                .first()
                .and_then(|s| s.vpc_id())
                .expect("vpc")
                .to_string();
            for (service, kind) in [
                ("ecr.api", aws_sdk_ec2::types::VpcEndpointType::Interface),
                ("ecr.dkr", aws_sdk_ec2::types::VpcEndpointType::Interface),
                ("s3", aws_sdk_ec2::types::VpcEndpointType::Gateway),
            ] {
                self.ec2
                    .create_vpc_endpoint()
                    .vpc_id(&vpc)
                    .service_name(format!("com.amazonaws.{REGION}.{service}"))
                    .vpc_endpoint_type(kind)
                    .send()
                    .await
                    .expect("endpoint");
            }
        });
    }

    /// Pushes `tag` as a multi-platform index offering linux on `archs` (and an
    /// attestation manifest, `unknown/unknown`, as buildx adds).
    pub fn push_index(&self, tag: &str, archs: &[&str]) {
        let manifests: Vec<Value> = archs
            .iter()
            .chain(&["unknown"])
            .enumerate()
            .map(|(i, arch)| {
                let os = if *arch == "unknown" {
                    "unknown"
                } else {
                    "linux"
                };
                json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": format!("sha256:{}", i.to_string().repeat(64)),
                    "size": 500,
                    "platform": {"architecture": arch, "os": os}
                })
            })
            .collect();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests
        });
        self.rt
            .block_on(
                self.ecr
                    .put_image()
                    .repository_name("web")
                    .image_manifest(index.to_string())
                    .image_tag(tag)
                    .send(),
            )
            .expect("put index");
    }
}
