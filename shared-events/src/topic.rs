//! Topics: one per producing bounded context, plus the dead-letter topic.

use std::fmt;

/// A Kafka topic of the system, named without the deployment's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Order,
    Payment,
    Store,
    Delivery,
    /// Reviews and store ratings (the review service).
    Review,
    /// Messages a consumer gave up on, with the reason in headers.
    DeadLetter,
}

impl Topic {
    /// Every topic, in the order `./dev` and the services create them.
    pub const ALL: [Topic; 6] = [
        Topic::Order,
        Topic::Payment,
        Topic::Store,
        Topic::Delivery,
        Topic::Review,
        Topic::DeadLetter,
    ];

    /// The topic with this base name (no prefix).
    pub fn from_base_name(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.base_name() == name)
    }

    /// The base name, without prefix.
    pub fn base_name(self) -> &'static str {
        match self {
            Topic::Order => "fooddelivery.order",
            Topic::Payment => "fooddelivery.payment",
            Topic::Store => "fooddelivery.store",
            Topic::Delivery => "fooddelivery.delivery",
            Topic::Review => "fooddelivery.review",
            Topic::DeadLetter => "fooddelivery.dlq",
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base_name())
    }
}

/// Topic names of one deployment. A prefix isolates deployments (and tests) sharing a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full name of `topic` in this deployment.
    pub fn name(&self, topic: Topic) -> String {
        format!("{}{}", self.prefix, topic.base_name())
    }

    /// The topic a full name belongs to, if it is one of this deployment's.
    pub fn parse(&self, name: &str) -> Option<Topic> {
        Topic::from_base_name(name.strip_prefix(&self.prefix)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefixed_name_parses_back_to_its_topic() {
        let topics = Topics::new("test-42.");
        for topic in Topic::ALL {
            assert_eq!(topics.parse(&topics.name(topic)), Some(topic));
        }
        assert_eq!(topics.name(Topic::Order), "test-42.fooddelivery.order");
    }

    #[test]
    fn another_deployments_topic_is_not_ours() {
        assert_eq!(Topics::new("a.").parse("b.fooddelivery.order"), None);
        assert_eq!(Topics::default().parse("fooddelivery.unknown"), None);
    }
}
