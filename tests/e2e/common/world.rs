//! The account a test starts from: moto, the proxy in front of it, a cluster and images.

use super::aws::{Aws, ecs_target};
use super::moto::Moto;
use super::{App, Run, proxy};

/// moto, a proxy in front of it, a cluster `batch`, and the image tags v1..v3 in ECR.
pub struct World {
    pub moto: Moto,
    pub proxy: proxy::Proxy,
    pub aws: Aws,
    pub cluster: String,
}

impl World {
    pub fn new() -> Self {
        let moto = Moto::start();
        let proxy = proxy::Proxy::start(&moto.url);
        let aws = Aws::new(&moto.url);
        let cluster = aws.create_cluster("batch");
        for tag in ["v1", "v2", "v3"] {
            aws.push_image("web", tag);
        }
        Self {
            moto,
            proxy,
            aws,
            cluster,
        }
    }

    /// Family `web` at revision 1 (tag v1), run by rule `hourly` target `batch`.
    pub fn hourly_web_job(&self) -> String {
        let web = self.aws.register("web", "v1");
        self.aws.rule(
            "hourly",
            "default",
            aws_sdk_eventbridge::types::RuleState::Enabled,
            vec![ecs_target("batch", &self.cluster, &web)],
        );
        web
    }

    pub fn run(&self, app: &App, args: &[&str]) -> Run {
        app.run(&self.proxy.url, args)
    }
}
