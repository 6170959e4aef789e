// The production cluster's topics, Kafka users and ACLs, on the local cluster, as Strimzi's
// topic and user operators make them there:
//
// - every KafkaTopic of kubernetes/components/strimzi/topics.yaml that does not exist yet, with
//   its partitions and config, and its replicas at most the cluster's brokers (a service that
//   runs as its own Kafka user may create none);
// - for every KafkaUser of users.yaml, a SCRAM-SHA-512 user of the same name whose password is
//   "local-" and its name (loopback only, for tests and demonstrations), and exactly its ACLs:
//   missing ones are added, others of that user removed.
//
// Both files are generated from the topics' declaration. Idempotent. Run by ./dev after Kafka
// starts, with Kafka's jars (kafka-clients, snakeyaml) on the class path:
//
//   java -cp "<kafka libs>/*" infra/kafka/Access.java BOOTSTRAP TOPICS_YAML USERS_YAML [PARTITIONS]
//
// PARTITIONS, when given, replaces the declared partition count (the local stack's
// KAFKA_TOPIC_PARTITIONS).
//
// It connects through the anonymous plaintext listener, whose principal is a super user.

import java.io.FileReader;
import java.io.Reader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.yaml.snakeyaml.Yaml;

public class Access {
    public static void main(String[] args) throws Exception {
        if (args.length != 3 && args.length != 4) {
            System.err.println("usage: Access BOOTSTRAP TOPICS_YAML USERS_YAML [PARTITIONS]");
            System.exit(2);
        }
        Integer partitions = args.length == 4 && !args[3].isEmpty() ? Integer.valueOf(args[3]) : null;
        Properties config = new Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        int users = 0, added = 0, removed = 0;
        try (Admin admin = Admin.create(config)) {
            int created = createTopics(admin, args[1], partitions);
            System.out.printf("%d topics created%n", created);
        }
        try (Admin admin = Admin.create(config); Reader yaml = new FileReader(args[2])) {
            for (Object document : new Yaml().loadAll(yaml)) {
                if (!(document instanceof Map<?, ?> user) || !"KafkaUser".equals(user.get("kind"))) {
                    continue;
                }
                String name = (String) ((Map<?, ?>) user.get("metadata")).get("name");
                String principal = "User:" + name;
                admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
                        name, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), "local-" + name)))
                    .all().get();
                Set<AclBinding> wanted = wantedAcls(user, principal);
                AclBindingFilter theirs = new AclBindingFilter(ResourcePatternFilter.ANY,
                    new AccessControlEntryFilter(principal, null, AclOperation.ANY, AclPermissionType.ANY));
                Set<AclBinding> existing = new HashSet<>(admin.describeAcls(theirs).values().get());
                List<AclBindingFilter> stale = new ArrayList<>();
                for (AclBinding binding : existing) {
                    if (!wanted.contains(binding)) {
                        stale.add(binding.toFilter());
                    }
                }
                if (!stale.isEmpty()) {
                    admin.deleteAcls(stale).all().get();
                }
                List<AclBinding> missing = new ArrayList<>();
                for (AclBinding binding : wanted) {
                    if (!existing.contains(binding)) {
                        missing.add(binding);
                    }
                }
                if (!missing.isEmpty()) {
                    admin.createAcls(missing).all().get();
                }
                users++;
                added += missing.size();
                removed += stale.size();
            }
        }
        System.out.printf("%d Kafka users with their ACLs: %d added, %d removed%n", users, added, removed);
    }

    /// Creates the KafkaTopics of `path` that the cluster does not have (with `partitions`
    /// partitions when not null); returns how many.
    private static int createTopics(Admin admin, String path, Integer partitionsGiven) throws Exception {
        int brokers = admin.describeCluster().nodes().get().size();
        Set<String> existing = admin.listTopics().names().get();
        List<NewTopic> missing = new ArrayList<>();
        try (Reader yaml = new FileReader(path)) {
            for (Object document : new Yaml().loadAll(yaml)) {
                if (!(document instanceof Map<?, ?> topic) || !"KafkaTopic".equals(topic.get("kind"))) {
                    continue;
                }
                Map<?, ?> spec = (Map<?, ?>) topic.get("spec");
                String name = (String) spec.get("topicName");
                if (existing.contains(name)) {
                    continue;
                }
                int partitions = partitionsGiven != null ? partitionsGiven : ((Number) spec.get("partitions")).intValue();
                short replicas = (short) Math.min(((Number) spec.get("replicas")).intValue(), brokers);
                Map<String, String> configs = new HashMap<>();
                Object given = spec.get("config");
                if (given instanceof Map<?, ?> entries) {
                    entries.forEach((key, value) -> configs.put(String.valueOf(key), String.valueOf(value)));
                }
                missing.add(new NewTopic(name, partitions, replicas).configs(configs));
            }
        }
        if (!missing.isEmpty()) {
            admin.createTopics(missing).all().get();
        }
        return missing.size();
    }

    /// The user's ACLs as users.yaml gives them: one binding per resource and operation.
    private static Set<AclBinding> wantedAcls(Map<?, ?> user, String principal) {
        Map<?, ?> spec = (Map<?, ?>) user.get("spec");
        Map<?, ?> authorization = (Map<?, ?>) spec.get("authorization");
        Set<AclBinding> wanted = new HashSet<>();
        for (Object item : (List<?>) authorization.get("acls")) {
            Map<?, ?> acl = (Map<?, ?>) item;
            Map<?, ?> resource = (Map<?, ?>) acl.get("resource");
            ResourceType type = ResourceType.fromString(constant(resource.get("type")));
            String resourceName = type == ResourceType.CLUSTER ? "kafka-cluster" : (String) resource.get("name");
            // Strimzi's "prefix" is Kafka's PREFIXED.
            PatternType pattern = "prefix".equals(resource.get("patternType")) ? PatternType.PREFIXED : PatternType.LITERAL;
            if (type == ResourceType.UNKNOWN) {
                throw new IllegalArgumentException("unknown resource type " + resource.get("type") + " for " + principal);
            }
            ResourcePattern on = new ResourcePattern(type, resourceName, pattern);
            for (Object operation : (List<?>) acl.get("operations")) {
                AclOperation op = AclOperation.fromString(constant(operation));
                if (op == AclOperation.UNKNOWN) {
                    throw new IllegalArgumentException("unknown operation " + operation + " for " + principal);
                }
                wanted.add(new AclBinding(on, new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW)));
            }
        }
        return wanted;
    }

    /// Strimzi's camel case as Kafka's enum constants: "DescribeConfigs" is DESCRIBE_CONFIGS,
    /// "transactionalId" TRANSACTIONAL_ID.
    private static String constant(Object value) {
        return String.valueOf(value).replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
    }
}
